#!/usr/bin/env bash
# Capacity and per-call cost of lexconnector, measured with lexcall against the kernel floor
# (floor-server) in the same run. Everything on this machine: server, lexcall (one thread,
# epoll) and the Lex stand-in inside lexcall. See BENCHMARKS.md, "Capacity and per-call cost".
#
#   scripts/bench/capacity.sh            # all parts; WRITE=1 rewrites the section in BENCHMARKS.md
#   PARTS="cpu idle" scripts/bench/capacity.sh
#
# Parts: capacity (STEPS calls, floor then connector, each speaking and hearing REPLY_MS
# replies), cpu (CPU_CALLS listening, then playing, with system calls per frame from
# perf stat), idle (IDLE_CALLS silent calls: CPU and RSS per call), soak (SOAK_CALLS for
# SOAK_SECONDS, RSS every 10 s). Results: $OUT/*.json and $OUT/capacity.md. System calls are
# counted with perf (Debian: apt-get install linux-perf) when it is installed. Whole numbers
# of seconds for RAMP, WARMUP and DURATION.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait-for.sh
. scripts/lib/bench.sh
# Build directories of the product and of the Tools package (lexcall, floor-server).
SCRATCH="${SCRATCH:-.build}" TOOLS_SCRATCH="${TOOLS_SCRATCH:-Tools/.build}"
PARTS="${PARTS:-capacity cpu idle soak}"
STEPS="${STEPS:-1000 1200 1400 1600 1800 2000}"
RAMP="${RAMP:-10}" DURATION="${DURATION:-30}" WARMUP="${WARMUP:-5}" REPLY_MS="${REPLY_MS:-3000}"
CPU_CALLS="${CPU_CALLS:-500}" IDLE_CALLS="${IDLE_CALLS:-1000}"
SOAK_CALLS="${SOAK_CALLS:-500}" SOAK_SECONDS="${SOAK_SECONDS:-600}"
PORT="${PORT:-18800}" LEX_PORT="${LEX_PORT:-18801}" FLOOR_PORT="${FLOOR_PORT:-18802}"
OUT="${OUT:-reports/bench-capacity}"
WAV="Tests/AudioTests/Fixtures/speech16-clean.wav"
TRIM="0.7:1.6"   # the word "yes" with 300 ms before it and 190 ms after
mkdir -p "$OUT"
raise_fd_limit
build_bench_bins lexcall floor-server

write_bench_conf "$OUT/lexmo-bench.conf"

start_server() {  # connector | floor PLAY_MS PAUSE_MS
  if [ "$1" = connector ]; then
    "$BIN/lexconnector" --config "$OUT/lexmo-bench.conf" 2>>"$OUT/lexconnector.log" &
    SERVER_PID=$!
    wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$PORT/ping" \
      || { echo "lexconnector did not start (see $OUT/lexconnector.log)"; exit 1; }
  else
    "$TOOLS_BIN/floor-server" --port "$FLOOR_PORT" --play-ms "$2" --pause-ms "$3" >/dev/null &
    SERVER_PID=$!
    wait_for 10 port_listening "$FLOOR_PORT" || { echo "floor-server did not start"; exit 1; }
  fi
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

# run NAME connector|floor CALLS RAMP DURATION [lexcall args...]; with SYSCALLS=1 perf stat
# counts the server's system calls for 10 s inside the measured window.
run() {
  local name="$1" kind="$2" calls="$3" ramp="$4" duration="$5"; shift 5
  local port="$PORT" extra=()
  if [ "$kind" = floor ]; then port="$FLOOR_PORT"; else extra=(--lex-standin "$LEX_PORT" --server-metrics); fi
  echo "== $name: $calls calls ($kind), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  cut -d' ' -f1-3 /proc/loadavg >"$OUT/$name.load"
  "$TOOLS_BIN/lexcall" --url "ws://127.0.0.1:$port/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/bench-{call}/utterance" \
    --calls "$calls" --ramp "$ramp" --duration "$duration" --warmup "$WARMUP" --server-pid "$SERVER_PID" \
    --json "$OUT/$name.json" --quiet "${extra[@]}" "$@" >"$OUT/$name.txt" 2>&1 &
  local gen=$!
  if [ "${SYSCALLS:-0}" = 1 ] && command -v perf >/dev/null; then
    sleep $((ramp + WARMUP + 1))
    perf stat -x, -e raw_syscalls:sys_enter,syscalls:sys_enter_read,syscalls:sys_enter_sendto,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex,syscalls:sys_enter_ioctl \
      -p "$SERVER_PID" -o "$OUT/$name.syscalls" -- sleep 10 || true
  fi
  wait "$gen" || true
  grep -E "^(calls|frames|server|outbound|replies|Lex|  stand-in|  server,|lexcall CPU)" "$OUT/$name.txt" | sed 's/^/   /' >&2 || true
}

SPEAK=(--wav "$WAV" --trim "$TRIM")

if [[ " $PARTS " == *" capacity "* ]]; then
  for n in $STEPS; do
    start_server floor "$REPLY_MS" 2000; run "floor-$n" floor "$n" "$RAMP" "$DURATION" "${SPEAK[@]}"; stop_server
    start_server connector; run "connector-$n" connector "$n" "$RAMP" "$DURATION" "${SPEAK[@]}" --reply-ms "$REPLY_MS"; stop_server
  done
fi
if [[ " $PARTS " == *" cpu "* ]]; then
  # Listening: silence only. Playing: one utterance, then a 20 s reply that covers the window.
  start_server floor 20 100000000; SYSCALLS=1 run "cpu-floor-listen" floor "$CPU_CALLS" 5 20; stop_server
  start_server connector; SYSCALLS=1 run "cpu-connector-listen" connector "$CPU_CALLS" 5 20; stop_server
  start_server floor 100000000 0; SYSCALLS=1 run "cpu-floor-play" floor "$CPU_CALLS" 5 15 "${SPEAK[@]}"; stop_server
  start_server connector; SYSCALLS=1 run "cpu-connector-play" connector "$CPU_CALLS" 5 15 "${SPEAK[@]}" --reply-ms 20000; stop_server
fi
if [[ " $PARTS " == *" idle "* ]]; then
  start_server connector; run "idle-connector" connector "$IDLE_CALLS" 10 20; stop_server
fi
if [[ " $PARTS " == *" soak "* ]]; then
  start_server connector
  ( while kill -0 "$SERVER_PID" 2>/dev/null; do echo "$(date +%s) $(awk '/VmRSS/{print $2}' /proc/$SERVER_PID/status 2>/dev/null)"; sleep 10; done ) >"$OUT/soak-rss.txt" &
  run "soak" connector "$SOAK_CALLS" 10 "$SOAK_SECONDS" "${SPEAK[@]}" --reply-ms "$REPLY_MS"
  stop_server
fi
python3 scripts/bench/capacity-report.py "$OUT" "$STEPS" "$REPLY_MS" >"$OUT/capacity.md"
cat "$OUT/capacity.md"
if [ "${WRITE:-0}" = 1 ]; then
  python3 scripts/bench/capacity-report.py --write BENCHMARKS.md "$OUT/capacity.md"
fi
