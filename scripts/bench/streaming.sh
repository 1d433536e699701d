#!/usr/bin/env bash
# Streaming calls (issue 11): lexconnector making StartConversation streams (HTTP/2, h2c) to the
# Lex stand-in inside lexcall, beside turn-based calls, all on this machine. See BENCHMARKS.md,
# "Streaming calls".
#
#   scripts/bench/streaming.sh                  # STREAMS="100 500"
#   STREAMS="100" DURATION=20 scripts/bench/streaming.sh
#
# For each N in STREAMS: a mixed run (N streaming + N turn-based calls, spread evenly, each
# speaking "yes" and hearing a REPLY_MS reply in turn), a streaming-only and a turn-only run of N
# calls (the per-call CPU of each kind), and N silent calls of each kind (listening CPU). Per run:
# lexcall's report ($OUT/NAME.txt, .json), and the server's threads' CPU over 10 s inside the
# measured window ($OUT/NAME.threads: the Lex HTTP/2 client thread `lex-http2` against the
# process). Results: $OUT/streaming.md. LISTEN_ARGS go to lexcall for the listening runs only
# (e.g. LISTEN_ARGS="--rate 8000" for 8 kHz calls). Whole numbers of seconds for RAMP, WARMUP and DURATION.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait-for.sh
. scripts/lib/bench.sh
SCRATCH="${SCRATCH:-.build}" TOOLS_SCRATCH="${TOOLS_SCRATCH:-Tools/.build}"
STREAMS="${STREAMS:-100 500}"
RAMP="${RAMP:-10}" DURATION="${DURATION:-30}" WARMUP="${WARMUP:-5}" REPLY_MS="${REPLY_MS:-3000}"
PARTS="${PARTS:-mixed stream turn listen}"
PORT="${PORT:-18900}" LEX_PORT="${LEX_PORT:-18901}"
OUT="${OUT:-reports/bench-streaming}"
WAV="Tests/AudioTests/Fixtures/speech16-clean.wav"
TRIM="0.7:1.6"   # the word "yes" with 300 ms before it and 190 ms after
mkdir -p "$OUT"
raise_fd_limit
build_bench_bins lexcall

write_bench_conf "$OUT/lexmo-streaming.conf"

start_server() {
  "$BIN/lexconnector" --config "$OUT/lexmo-streaming.conf" 2>>"$OUT/lexconnector.log" &
  SERVER_PID=$!
  wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$PORT/ping" \
    || { echo "lexconnector did not start (see $OUT/lexconnector.log)"; exit 1; }
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

# Per-thread CPU ticks of the server: "comm utime+stime" per line.
thread_ticks() {
  for t in /proc/"$SERVER_PID"/task/*; do
    printf '%s %s\n' "$(tr ' ' '_' <"$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
  done 2>/dev/null
}

# run NAME CALLS PATH_KIND [lexcall args...]: PATH_KIND utterance|conversation.
run() {
  local name="$1" calls="$2" kind="$3"; shift 3
  echo "== $name: $calls calls, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  "$TOOLS_BIN/lexcall" --url "ws://127.0.0.1:$PORT/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/bench-{call}/$kind" \
    --calls "$calls" --ramp "$RAMP" --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" \
    --lex-standin "$LEX_PORT" --server-metrics --json "$OUT/$name.json" --quiet "$@" >"$OUT/$name.txt" 2>&1 &
  local gen=$!
  sleep $((RAMP + WARMUP + 2))
  thread_ticks >"$OUT/$name.ticks0"
  sleep 10
  thread_ticks >"$OUT/$name.ticks1"
  wait "$gen" || true
  # The Lex HTTP/2 client thread's share of the server's CPU over those 10 s.
  awk 'NR==FNR { a[$1] += $2; next } { b[$1] += $2 }
       END { for (k in b) { d = b[k] - a[k]; total += d; if (k == "lex-http2") lex += d }
             share = (total > 0) ? 100 * lex / total : 0
             printf("server CPU over 10 s: %.2f cores; Lex HTTP/2 client thread (lex-http2): %.3f cores, %.1f%% of the server\n", total / 1000, lex / 1000, share) }' \
    "$OUT/$name.ticks0" "$OUT/$name.ticks1" >"$OUT/$name.threads"
  grep -E "^(calls|frames|server|outbound|replies|Lex|  stand-in|  server,|lexcall CPU)" "$OUT/$name.txt" | sed 's/^/   /' >&2 || true
  sed 's/^/   /' "$OUT/$name.threads" >&2
}

SPEAK=(--wav "$WAV" --trim "$TRIM" --reply-ms "$REPLY_MS")
for n in $STREAMS; do
  if [[ " $PARTS " == *" mixed "* ]]; then
    start_server; run "mixed-$n" $((2 * n)) utterance "${SPEAK[@]}" --streaming-share 0.5; stop_server
  fi
  if [[ " $PARTS " == *" stream "* ]]; then
    start_server; run "stream-$n" "$n" conversation "${SPEAK[@]}"; stop_server
  fi
  if [[ " $PARTS " == *" turn "* ]]; then
    start_server; run "turn-$n" "$n" utterance "${SPEAK[@]}"; stop_server
  fi
  if [[ " $PARTS " == *" listen "* ]]; then
    start_server; run "listen-stream-$n" "$n" conversation ${LISTEN_ARGS:-}; stop_server
    start_server; run "listen-turn-$n" "$n" utterance ${LISTEN_ARGS:-}; stop_server
  fi
done
python3 scripts/bench/streaming-report.py "$OUT" "$STREAMS" >"$OUT/streaming.md"
cat "$OUT/streaming.md"
