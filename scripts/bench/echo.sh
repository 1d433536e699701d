#!/usr/bin/env bash
# Echo benchmark: CONNECTIONS (500) WebSocket connections each sending a FRAME-byte (640)
# binary frame every INTERVAL ms (20) through the release build of wsecho for DURATION
# seconds (30), measuring the server's CPU per connection-second (from /proc/PID/stat) and
# the echo latency. Prints a markdown block. SCRATCH selects the Tools package's build directory
# (default Tools/.build: wsecho and wsbench are tools).
# CLIENT=swift (default) drives the load with the `wsbench` executable (one thread, poll(),
# the module's FrameEncoder/FrameDecoder); CLIENT=python uses scripts/bench/echo.py (asyncio,
# standard library only), which on 2 cores cannot hold the 20 ms schedule at 500 connections.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONNECTIONS="${CONNECTIONS:-500}" INTERVAL="${INTERVAL:-20}" FRAME="${FRAME:-640}"
DURATION="${DURATION:-30}" WARMUP="${WARMUP:-3}" LOOPS="${LOOPS:-}"
SCRATCH="${SCRATCH:-Tools/.build}" CLIENT="${CLIENT:-swift}"
. scripts/lib/wait-for.sh
tools=(swift build -c release --package-path Tools --scratch-path "$SCRATCH")
"${tools[@]}" --product wsecho >/dev/null
[ "$CLIENT" = python ] || "${tools[@]}" --product wsbench >/dev/null
BINDIR="$("${tools[@]}" --show-bin-path)"
BIN="$BINDIR/wsecho"
PORTFILE="$(mktemp)"; RESULT="$(mktemp)"
ulimit -n 4096 2>/dev/null || true
"$BIN" --port 0 ${LOOPS:+--loops "$LOOPS"} >"$PORTFILE" 2>/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$PORTFILE" "$RESULT"' EXIT
wait_for 10 grep -q port "$PORTFILE" || { echo "wsecho did not start"; exit 1; }
PORT="$(awk '{print $NF}' "$PORTFILE")"
if [ "$CLIENT" = python ]; then GEN="python3 scripts/bench/echo.py"; else GEN="$BINDIR/wsbench"; fi
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
CMD="$GEN --port $PORT --server-pid $PID --connections $CONNECTIONS --interval $INTERVAL --size $FRAME --duration $DURATION --warmup $WARMUP"
$CMD >"$RESULT"
kill -0 $PID || { echo "wsecho died during the run"; exit 1; }
python3 - "$RESULT" "$CONNECTIONS" "$INTERVAL" "$FRAME" "$DURATION" "${LOOPS:-$(nproc)}" "$CLIENT" "$LOAD_BEFORE" <<'PY'
import json, os, platform, sys, datetime
r = json.load(open(sys.argv[1]))
conns, interval, frame, duration, loops, client, load = sys.argv[2:9]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
s, c, l = r["server_cpu"], r["client_cpu"], r["latency_ms"]
print(f"### WebSocket echo: {conns} connections x one {frame}-byte binary frame every {interval} ms\n")
print(f"- Date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
print(f"- Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; load average (1/5/15 min) before the run {load}, after {' '.join(open('/proc/loadavg').read().split()[:3])}")
gen = "scripts/bench/echo.py (asyncio, stdlib only)" if client == "python" else "release `wsbench` (one thread, poll())"
print(f"- Server: release `wsecho`, {loops} event loops; load generator: {gen}, on the same machine")
print(f"- Command: `CLIENT={client} CONNECTIONS={conns} INTERVAL={interval} FRAME={frame} DURATION={duration} scripts/bench/echo.sh`\n")
print("| measure | value |\n|---|---|")
print(f"| measured | {r['seconds']} s, {r['sent']} frames sent, {r['echoed']} echoed, {r['lost_connections']} connections lost |")
print(f"| send rate | {r['achieved_send_rate']}/s of {r['target_rate']}/s target |")
print(f"| server CPU per connection-second | user {s['user_us_per_conn_s']} µs, system {s['sys_us_per_conn_s']} µs, total {s['total_us_per_conn_s']} µs |")
print(f"| server CPU | {s['cores']} cores (user {s['user_s']} s, system {s['sys_s']} s) |")
print(f"| echo latency | p50 {l['p50']:.2f} ms, p90 {l['p90']:.2f} ms, p99 {l['p99']:.2f} ms, p99.9 {l['p999']:.2f} ms, max {l['max']:.2f} ms |")
print(f"| load generator CPU | {c['cores']} cores (user {c['user_s']} s, system {c['sys_s']} s); {r['late_scheduler_ticks']} sends more than 2 ms late |")
PY
