#!/usr/bin/env bash
# make demo: the whole loop on one machine with no AWS account. Starts lexconnector (release)
# with its Lex endpoints pointed at the Lex stand-in that lexcall runs inside itself, makes one
# turn-based call (/utterance: the connector's VAD cuts utterances, one RecognizeUtterance each)
# and one streaming call (/conversation: one StartConversation stream over HTTP/2, the stand-in
# decides the end of speech) with a recorded fixture (three phrases, then DTMF 4 2 #), prints
# each conversation and the connector's log lines, writes what the bot said to demo-reply.wav
# and demo-reply-streaming.wav, and stops the server.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH="${SCRATCH:-.build}" TOOLS_SCRATCH="${TOOLS_SCRATCH:-Tools/.build}"
PORT="${DEMO_PORT:-18700}" LEX_PORT="${DEMO_LEX_PORT:-18701}"
WAV="${DEMO_WAV:-Tests/AudioTests/Fixtures/speech16-clean.wav}"
. scripts/lib/wait-for.sh
swift build -c release --scratch-path "$SCRATCH" --product lexconnector >/dev/null
swift build -c release --package-path Tools --scratch-path "$TOOLS_SCRATCH" --product lexcall >/dev/null
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)"
TOOLS_BIN="$(swift build -c release --package-path Tools --scratch-path "$TOOLS_SCRATCH" --show-bin-path)"
DIR="$(mktemp -d)"
cat >"$DIR/lexmo.conf" <<CONF
[lexmo]
host = 127.0.0.1
port = $PORT
[lex]
endpoint_v1 = http://127.0.0.1:$LEX_PORT
endpoint_v2 = http://127.0.0.1:$LEX_PORT
CONF
"$BIN/lexconnector" --config "$DIR/lexmo.conf" 2>"$DIR/lexconnector.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DIR"' EXIT
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$PORT/ping" || { echo "demo: lexconnector did not start"; cat "$DIR/lexconnector.log"; exit 1; }
echo "lexconnector (pid $SERVER) on 127.0.0.1:$PORT, its [lex] endpoints at http://127.0.0.1:$LEX_PORT"
echo
echo "== turn-based call (/utterance)"
"$TOOLS_BIN/lexcall" --url "ws://127.0.0.1:$PORT/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/demo-1/utterance" \
  --wav "$WAV" --lex-standin "$LEX_PORT" --dtmf 8.5:4,8.7:2,8.9:# --out demo-reply.wav
echo
echo "== streaming call (/conversation)"
"$TOOLS_BIN/lexcall" --url "ws://127.0.0.1:$PORT/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/demo-2/conversation" \
  --wav "$WAV" --lex-standin "$LEX_PORT" --dtmf 8.5:4,8.7:2,8.9:# --out demo-reply-streaming.wav
echo
echo "lexconnector's log of the call:"
sed 's/^/  /' "$DIR/lexconnector.log"
