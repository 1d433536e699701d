#!/usr/bin/env bash
# A/B of server CPU per call-second: two lexconnector binaries (say, before and after a change)
# under the same lexcall load, alternated ROUNDS times in one session so that machine noise
# falls on both alike. Each run: CALLS speaking calls (the word "yes", REPLY_MS replies), the
# stand-in inside lexcall, DURATION s measured after RAMP + WARMUP.
#
#   scripts/bench/ab-capacity.sh A_BIN_DIR B_BIN_DIR [LEXCALL_BIN_DIR]
#   CALLS=1000 ROUNDS=2 scripts/bench/ab-capacity.sh /tmp/before/.build/release .build/release
#
# A_BIN_DIR and B_BIN_DIR hold `lexconnector`; lexcall comes from LEXCALL_BIN_DIR (default: the
# Tools package's release build). B_CONF, when set, is appended to B's configuration file only
# (for example B_CONF=$'[vad]\nnoise_margin = 0' to run B with its noise gate off). KIND is the
# route's last segment: utterance (turn-based calls, the default) or conversation (streaming
# calls); B_KIND, when set, is B's (A=B with KIND=utterance B_KIND=conversation compares the two
# kinds of call, alternated). LISTEN=1 makes the calls listen (silent callers, no turns) instead
# of speaking. Prints one line per run and the medians; results in $OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait-for.sh
. scripts/lib/bench.sh
A="$1" B="$2"
LEXCALL_DIR="${3:-$(swift build -c release --package-path Tools --show-bin-path)}"
CALLS="${CALLS:-1000}" ROUNDS="${ROUNDS:-2}" RAMP="${RAMP:-10}" WARMUP="${WARMUP:-5}" DURATION="${DURATION:-30}"
REPLY_MS="${REPLY_MS:-3000}" KIND="${KIND:-utterance}" PORT="${PORT:-18950}" LEX_PORT="${LEX_PORT:-18951}"
OUT="${OUT:-reports/ab-capacity}"
mkdir -p "$OUT"
SPEECH=(--wav Tests/AudioTests/Fixtures/speech16-clean.wav --trim 0.7:1.6 --reply-ms "$REPLY_MS")
[ -n "${LISTEN:-}" ] && SPEECH=()  # listening calls: lexcall's callers send silence
raise_fd_limit
write_bench_conf "$OUT/a.conf"
{ cat "$OUT/a.conf"; printf '%s\n' "${B_CONF:-}"; } >"$OUT/b.conf"

run() {  # NAME BIN_DIR (NAME starts with a or b: its configuration)
  for p in "$PORT" "$LEX_PORT"; do
    if port_listening "$p"; then echo "port $p is in use: set PORT and LEX_PORT"; exit 1; fi
  done
  local kind="$KIND"
  [ "${1:0:1}" = b ] && kind="${B_KIND:-$KIND}"
  "$2/lexconnector" --config "$OUT/${1:0:1}.conf" 2>>"$OUT/$1.log" &
  SERVER_PID=$!
  wait_for 10 curl -sfo /dev/null "http://127.0.0.1:$PORT/ping" || { echo "lexconnector did not start"; exit 1; }
  "$LEXCALL_DIR/lexcall" --url "ws://127.0.0.1:$PORT/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/ab-{call}/$kind" \
    --calls "$CALLS" --ramp "$RAMP" --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" \
    --lex-standin "$LEX_PORT" --server-metrics "${SPEECH[@]}" --json "$OUT/$1.json" --quiet >"$OUT/$1.txt" 2>&1 || true
  kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  local cpu lost
  cpu=$(grep -o 'server CPU per call-second: .*' "$OUT/$1.txt" || echo "no figure")
  lost=$(grep -o '[0-9]* lost' "$OUT/$1.txt" | tr '\n' ' ')
  echo "$1: $cpu; frames $lost"
}

for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then run "a-$r" "$A"; run "b-$r" "$B"; else run "b-$r" "$B"; run "a-$r" "$A"; fi
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
for side in "ab":
    v = []
    for r in range(1, rounds + 1):
        try:
            j = json.load(open(f"{out}/{side}-{r}.json"))
            v.append(j["server_user_us_per_call_s"] + j["server_sys_us_per_call_s"])
        except (OSError, KeyError, ValueError):
            pass
    if v:
        print(f"{side.upper()}: median {statistics.median(v):.1f} µs of server CPU per call-second over {len(v)} runs {['%.1f' % x for x in v]}")
PY
