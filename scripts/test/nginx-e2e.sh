#!/usr/bin/env bash
# End to end through a real nginx: TLS termination and the WebSocket upgrade as
# contrib/nginx/lexconnector.conf configures them, in front of the release
# lexconnector, with the Lex stand-in (lex-standin) as Amazon Lex. The Lex side goes
# through nginx too, as HTTPS with HTTP/2 (as real Lex offers it), so the Lex client's
# TLS, `ca_file` and HTTP/2 paths meet a real peer:
#
#   wss client (scripts/test/wss_call.py) --TLS--> nginx --> lexconnector
#   lexconnector --SigV4, TLS, HTTP/2--> nginx --HTTP/1.1--> lex-standin
#
# Needs nginx, openssl, curl and python3 (installs nothing) and the release builds of the
# product and of the tools:
#   swift build -c release && swift build -c release --package-path Tools && scripts/test/nginx-e2e.sh
# BIN_DIR overrides where lexconnector is (default: swift build -c release --show-bin-path),
# TOOLS_BIN_DIR where lex-standin is (default: the same for --package-path Tools).
# Every check of what another process does (a log line, a datagram, a count) waits for it,
# with a bound (wait_for): the check never races the process it looks at.
# KEEP_E2E_DIR=1 keeps the temporary directory (configs, logs) for a look afterwards.
# Ends with "nginx-e2e: N passed, M failed"; exits 1 when anything failed.
set -uo pipefail
# A relative BIN_DIR is relative to where the script is called from.
[ -n "${BIN_DIR:-}" ] && { BIN_DIR=$(cd "$BIN_DIR" && pwd) || exit 1; }
[ -n "${TOOLS_BIN_DIR:-}" ] && { TOOLS_BIN_DIR=$(cd "$TOOLS_BIN_DIR" && pwd) || exit 1; }
cd "$(dirname "$0")/../.."
repo=$(pwd)
. scripts/lib/wait-for.sh

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
finish() {
    echo "nginx-e2e: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    exit $?
}
abort() { fail "$*"; show_logs; finish; }

PATH=$PATH:/usr/sbin:/sbin  # nginx lives in /usr/sbin
for tool in nginx openssl curl python3; do
    command -v "$tool" >/dev/null \
        || { echo "nginx-e2e: $tool is missing (Debian: apt-get install nginx openssl curl python3)"; exit 1; }
done
NGINX=$(command -v nginx)

bin_dir=${BIN_DIR:-$(swift build -c release --show-bin-path)}
tools_bin_dir=${TOOLS_BIN_DIR:-$(swift build -c release --package-path Tools --show-bin-path)}
[ -x "$bin_dir/lexconnector" ] \
    || { echo "nginx-e2e: $bin_dir/lexconnector is missing: swift build -c release (or set BIN_DIR)"; exit 1; }
[ -x "$tools_bin_dir/lex-standin" ] \
    || { echo "nginx-e2e: $tools_bin_dir/lex-standin is missing: swift build -c release --package-path Tools (or set TOOLS_BIN_DIR)"; exit 1; }

work=$(mktemp -d -t lexconnector-nginx-e2e.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    if [ "${KEEP_E2E_DIR:-}" = 1 ]; then echo "nginx-e2e: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "nginx-e2e: interrupted"; exit 130' INT TERM

show_logs() {
    for f in "$work"/standin.log "$work"/lexconnector.log "$work"/logs/error.log "$work"/logs/lexconnector.error.log; do
        [ -s "$f" ] && { echo "--- $f (last 30 lines)"; tail -n 30 "$f"; }
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- TLS certificate for "localhost" (and 127.0.0.1), trusted by the clients below.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/privkey.pem" -out "$work/fullchain.pem" 2>"$work/openssl.log" \
    || { cat "$work/openssl.log"; abort "self-signed certificate"; }

# --- The Lex stand-in.
"$tools_bin_dir/lex-standin" --port 0 >"$work/standin.log" 2>&1 &
pids+=($!)
wait_for 20 grep -q "^lex-standin listening on " "$work/standin.log" || abort "lex-standin started"
standin_port=$(sed -n 's/^lex-standin listening on \([0-9]*\)$/\1/p' "$work/standin.log")
pass "lex-standin listening on $standin_port"

# --- lexconnector, pointed at the stand-in through nginx (HTTPS, HTTP/2, the test CA).
lc_port=$(free_port)
lex_port=$(free_port)
cat >"$work/lexmo.conf" <<EOF
[lexmo]
host = 127.0.0.1
port = $lc_port
event_loops = 2
[lex]
region = us-east-1
endpoint_v1 = https://localhost:$lex_port
endpoint_v2 = https://localhost:$lex_port
ca_file = $work/fullchain.pem
max_attempts = 1
[log]
level = info
EOF
check_config() { "$bin_dir/lexconnector" --config "$work/lexmo.conf" --check-config >/dev/null; }
check "lexconnector --check-config accepts the e2e config" check_config
# Under the unit's MemoryDenyWriteExecute=yes: no writable+executable memory.
# prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN) (Linux 6.3+, kept across execve)
# enforces the same rule here without systemd; older kernels run it as is.
mdwe_exec='
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
on = libc.prctl(65, 1, 0, 0, 0) == 0 and libc.prctl(66, 0, 0, 0, 0) == 1
print("mdwe: " + ("on" if on else "unsupported by this kernel"), file=sys.stderr, flush=True)
os.execv(sys.argv[1], sys.argv[1:])'
# As systemd runs it: a notify socket (abstract, like systemd's own) that
# records each datagram on one line, and a 2 s watchdog.
notify_name="lexconnector-e2e-$$"
notify_listen='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1])
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().replace("\n", " | "), flush=True)'
python3 -c "$notify_listen" "$notify_name" >"$work/notify.log" 2>&1 &
pids+=($!)
wait_for 10 grep -q '^bound' "$work/notify.log" || abort "notify socket bound"
NOTIFY_SOCKET="@$notify_name" WATCHDOG_USEC=2000000 \
    python3 -c "$mdwe_exec" "$bin_dir/lexconnector" --config "$work/lexmo.conf" >"$work/lexconnector.log" 2>&1 &
lc_pid=$!
pids+=($lc_pid)
wait_for 20 curl -fs -o /dev/null "http://127.0.0.1:$lc_port/ping" || abort "lexconnector answers /ping on $lc_port"
# The notify listener records datagrams asynchronously: /ping answering does not mean the
# READY=1 datagram is in its log yet.
check "sd_notify: READY=1 with a STATUS once listening" wait_for 5 grep -q '^READY=1 | STATUS=' "$work/notify.log"
check "sd_notify: WATCHDOG=1 (WATCHDOG_USEC=2000000)" wait_for 5 grep -q '^WATCHDOG=1$' "$work/notify.log"
wait_for 5 grep -q '^mdwe: ' "$work/lexconnector.log"  # printed before exec, so before /ping
grep -q '^mdwe: on' "$work/lexconnector.log" && pass "lexconnector runs with writable+executable memory refused (PR_SET_MDWE)"

# --- nginx with contrib/nginx/lexconnector.conf: ports, certificate and log paths
# substituted, IPv6 listeners dropped (CI machines may have no IPv6).
tls_port=$(free_port)
http_port=$(free_port)
mkdir -p "$work/logs" "$work/temp"
sed -e "s#listen 443 ssl;#listen 127.0.0.1:$tls_port ssl;#" \
    -e "s#listen 80;#listen 127.0.0.1:$http_port;#" \
    -e '/listen \[::\]/d' \
    -e "s#server 127.0.0.1:8000 #server 127.0.0.1:$lc_port #" \
    -e "s#/etc/ssl/lexconnector/#$work/#g" \
    -e "s#/var/log/nginx/#$work/logs/#g" \
    "$repo/contrib/nginx/lexconnector.conf" >"$work/lexconnector-site.conf"
# Every deployment-specific value was replaced (comments aside).
if grep -v '^\s*#' "$work/lexconnector-site.conf" | grep -Eq '/etc/|/var/|:8000|listen (80|443)'; then
    grep -nE '/etc/|/var/|:8000|listen (80|443)' "$work/lexconnector-site.conf"
    abort "nginx config derived from contrib/nginx/lexconnector.conf"
fi
user_line=""
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"  # workers stay root: the temp dir is 0700
cat >"$work/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 2;
pid $work/nginx.pid;
error_log $work/logs/error.log info;
events { worker_connections 1024; }
http {
    access_log $work/logs/access.log;
    client_body_temp_path $work/temp/body;
    proxy_temp_path $work/temp/proxy;
    fastcgi_temp_path $work/temp/fastcgi;
    uwsgi_temp_path $work/temp/uwsgi;
    scgi_temp_path $work/temp/scgi;
    include $work/lexconnector-site.conf;
    # "Amazon Lex": TLS and HTTP/2 in front of the stand-in. The Host the client signed
    # (localhost:PORT, from :authority) goes on to the stand-in, which checks the signature.
    log_format lex '\$request \$status \$server_protocol';
    server {
        listen 127.0.0.1:$lex_port ssl http2;
        server_name localhost;
        ssl_certificate $work/fullchain.pem;
        ssl_certificate_key $work/privkey.pem;
        access_log $work/logs/lex.access.log lex;
        location / {
            proxy_pass http://127.0.0.1:$standin_port;
            proxy_http_version 1.1;
            proxy_set_header Host \$host:\$server_port;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
if "$NGINX" -t -p "$work" -e "$work/logs/error.log" -c "$work/nginx.conf" >"$work/nginx-t.log" 2>&1; then
    pass "nginx -t accepts contrib/nginx/lexconnector.conf"
else
    cat "$work/nginx-t.log"
    abort "nginx -t accepts contrib/nginx/lexconnector.conf"
fi
"$NGINX" -p "$work" -e "$work/logs/error.log" -c "$work/nginx.conf" >"$work/nginx.log" 2>&1 &
pids+=($!)

https=(curl -sS --max-time 10 --cacert "$work/fullchain.pem" --resolve "localhost:$tls_port:127.0.0.1")
base="https://localhost:$tls_port"
wait_for 20 "${https[@]}" -fo /dev/null "$base/ping" 2>/dev/null || abort "nginx answers over TLS on $tls_port"

# --- Health checks through nginx (TLS verified against the generated certificate).
body=$("${https[@]}" -w ' %{http_code}' "$base/ping")
check "GET /ping through nginx: 200 ok" test "$body" = "ok 200"
body=$("${https[@]}" -w ' %{http_code}' "$base/health")
check "GET /health through nginx: 200 status ok ($body)" \
    grep -Eq '^\{"status":"ok",.*\} 200$' <<<"$body"
body=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$http_port/ping")
check "plain HTTP redirects to https ($body)" grep -q "^301 https://" <<<"$body"
body=$("${https[@]}" "$base/metrics")
check "GET /metrics through nginx from 127.0.0.1 (allowed)" grep -q "^lexconnector_" <<<"$body"

# --- A call over wss:// through nginx.
echo "# call: wss://localhost:$tls_port (start, ok, DTMF 1 #, 2 s of silence in real time, reply, close)"
python3 "$repo/scripts/test/wss_call.py" --port "$tls_port" --server-name localhost --cafile "$work/fullchain.pem" \
    >"$work/call.log" 2>&1
call_status=$?
cat "$work/call.log"
passed=$((passed + $(grep -c '^ok - ' "$work/call.log")))
failed=$((failed + $(grep -c '^not ok - ' "$work/call.log")))
[ $call_status -ne 0 ] && ! grep -q '^not ok - ' "$work/call.log" && fail "wss_call.py exited $call_status"

# The stand-in answered the call's DTMF as a signed Lex V2 request. The stand-in and nginx
# write their log lines as they finish a request, which may be after the reply reached the
# caller: each check waits for its line.
check "lex-standin saw a signed V2 request with the DTMF input" wait_for 5 \
    grep -Eq '^request [0-9]+: POST /bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/e2e-call-1/utterance api=v2 .*input="1" .*signature=valid status=200' \
    "$work/standin.log"
grep '^request' "$work/standin.log" | sed 's/^/# stand-in: /'
check "the Lex request went over TLS with HTTP/2" wait_for 5 \
    grep -Eq '^POST /bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/e2e-call-1/utterance HTTP/2.0 200 HTTP/2.0$' \
    "$work/logs/lex.access.log"
no_bad_signature() { ! grep -Eq '^request .*signature=(missing|invalid)' "$work/standin.log"; }
check "no unsigned or badly signed request reached the stand-in" no_bad_signature
echo "# nginx (Lex side): $(head -n 1 "$work/logs/lex.access.log" 2>/dev/null)"
# nginx logs the upgrade when the proxied WebSocket connection ends.
check "nginx logged the upgrade with 101" wait_for 10 \
    grep -q '"GET /bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/e2e-call-1/utterance HTTP/1.1" 101 ' \
    "$work/logs/lexconnector.access.log"
no_websockets() { "${https[@]}" "$base/health" 2>/dev/null | grep -q '"websockets":0,'; }
check "the call's WebSocket is gone after the close (/health websockets 0)" wait_for 10 no_websockets

# --- Stop: SIGTERM, exit 0.
kill -TERM "$lc_pid"
wait "$lc_pid"
lc_status=$?
check "lexconnector exits 0 on SIGTERM" test "$lc_status" -eq 0
check "sd_notify: STOPPING=1 on SIGTERM" wait_for 5 grep -q '^STOPPING=1' "$work/notify.log"
uniq -c "$work/notify.log" | sed 's/^ *\([0-9]*\) \(.*\)/# notify: \2 (x\1)/'
ping_502() { [ "$("${https[@]}" -o /dev/null -w '%{http_code}' "$base/ping" 2>/dev/null)" = 502 ]; }
check "nginx answers 502 once lexconnector is gone" wait_for 5 ping_502

[ "$failed" -eq 0 ] || show_logs
finish
