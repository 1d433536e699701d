# Sourced by the benchmark scripts (scripts/bench/*.sh): what each of them sets up alike.

# raise_fd_limit: one descriptor per call and a few more; as many as the hard limit allows.
raise_fd_limit() {
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# write_bench_conf FILE: a lexconnector configuration on 127.0.0.1:$PORT whose Lex endpoints
# (V1 and V2) are the stand-in on 127.0.0.1:$LEX_PORT, room for 20,000 calls, warnings only.
write_bench_conf() {
    cat >"$1" <<CONF
[lexmo]
host = 127.0.0.1
port = $PORT
max_calls = 20000
[lex]
endpoint_v1 = http://127.0.0.1:$LEX_PORT
endpoint_v2 = http://127.0.0.1:$LEX_PORT
[log]
level = warning
CONF
}

# build_bench_bins TOOL...: release builds of lexconnector (in $SCRATCH) and of the named
# Tools products (in $TOOLS_SCRATCH); sets BIN and TOOLS_BIN to their directories.
build_bench_bins() {
    swift build -c release --scratch-path "$SCRATCH" --product lexconnector >/dev/null
    local p
    for p in "$@"; do swift build -c release --package-path Tools --scratch-path "$TOOLS_SCRATCH" --product "$p" >/dev/null; done
    BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)"
    TOOLS_BIN="$(swift build -c release --package-path Tools --scratch-path "$TOOLS_SCRATCH" --show-bin-path)"
}

# The server a script started, killed when the script exits however it exits.
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true' EXIT
