#!/usr/bin/env bash
# Builds and runs the libFuzzer targets over the WebSocketProtocol module (pure: no sockets):
#   http       the HTTP request parser, the handshake and Base64
#   websocket  the frame decoder/encoder and the connection state machine
#   eventstream  the Lex module's event stream decoder, StartConversation events, event signatures
# Usage: scripts/fuzz/run.sh [http|websocket|eventstream ...]   (default: all three)
# FUZZ_SECONDS (default 60) per target; FUZZ_JOBS (default 1) parallel workers per target.
# Binaries go to fuzz/bin, the growing corpora to fuzz/corpus-<target> (seeded from
# fuzz/seeds-<target>), crash reproducers to fuzz/out/<target>.
#
# SwiftPM cannot link a fuzzer executable (it renames `main`), so this calls swiftc directly
# with -sanitize=fuzzer,address over every source file of the module plus the harness.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFTC="${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}"
CLANG="${CLANG:-$(dirname "$SWIFTC")/clang}"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-1}"
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(http websocket eventstream)

# CoreTypes (the shared HTTP and time vocabulary) compiles into the same fuzz module, so the
# modules' `@_exported import CoreTypes` files (Exports.swift) are left out.
CORE_FILES=(Sources/CoreTypes/*.swift)
PURE_FILES=("${CORE_FILES[@]}"); for f in Sources/WebSocketProtocol/*.swift; do [ "${f##*/}" = Exports.swift ] || PURE_FILES+=("$f"); done
# The Lex module also drives curl: only its pure event stream and signing files.
LEX_PURE=(EventStreamMessage EventStreamEncoder EventStreamDecoder EventJSON StartConversationTypes StartConversationInputEvents
          StartConversationOutputEvents SigV4EventSigner SigV4EventVerifier SigV4Signer SigV4Request
          SigV4CanonicalRequest SigningKeyCache SigV4Date Digest Secret URIEncoding SigV4AudioEventFrame)
LEX_FILES=("${CORE_FILES[@]}"); for f in "${LEX_PURE[@]}"; do LEX_FILES+=("Sources/Lex/$f.swift"); done

mkdir -p fuzz/bin/include/COpenSSL fuzz/out
# COpenSSL has no module map of its own (SwiftPM writes one); write one for swiftc.
cat > fuzz/bin/include/COpenSSL/module.modulemap <<MAP
module COpenSSL {
    header "$PWD/Sources/COpenSSL/include/COpenSSL.h"
    link "crypto"
    export *
}
MAP
mkdir -p fuzz/bin/include/CDeflate
cat > fuzz/bin/include/CDeflate/module.modulemap <<MAP
module CDeflate {
    header "$PWD/Sources/CDeflate/include/CDeflate.h"
    link "deflate"
    export *
}
MAP
"$CLANG" -O2 -c Sources/COpenSSL/shim.c -I Sources/COpenSSL/include -o fuzz/bin/copenssl-shim.o

declare -A HARNESS=([http]=fuzz/FuzzHTTP.swift [websocket]=fuzz/FuzzWebSocket.swift [eventstream]=fuzz/FuzzEventStream.swift)
declare -A MAXLEN=([http]=4096 [websocket]=8192 [eventstream]=8192)

for t in "${TARGETS[@]}"; do
  [ -n "${HARNESS[$t]:-}" ] || { echo "fuzz: unknown target $t"; exit 2; }
  echo "== building fuzz/bin/fuzz-$t"; rm -f "fuzz/bin/fuzz-$t"
  files=("${PURE_FILES[@]}"); [ "$t" != eventstream ] || files=("${LEX_FILES[@]}")
  "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -package-name lexconnector \
    -module-name "Fuzz_$t" -I fuzz/bin/include \
    "${files[@]}" "${HARNESS[$t]}" fuzz/bin/copenssl-shim.o -lcrypto -ldeflate \
    -o "fuzz/bin/fuzz-$t" 2>&1 | { grep -v "ld.gold: warning: Cannot export local symbol '__asan" || true; }
  [ -x "fuzz/bin/fuzz-$t" ] || { echo "fuzz: build of $t failed"; exit 1; }
done

status=0
for t in "${TARGETS[@]}"; do
  corpus="fuzz/corpus-$t"; mkdir -p "$corpus" "fuzz/out/$t"
  log="fuzz/out/$t.log"
  echo "== fuzzing $t for ${SECONDS_PER_TARGET}s (log: $log)"
  set +e
  "fuzz/bin/fuzz-$t" "$corpus" "fuzz/seeds-$t" \
    -max_total_time="$SECONDS_PER_TARGET" -max_len="${MAXLEN[$t]}" -timeout=10 -rss_limit_mb=2048 \
    -jobs="$JOBS" -workers="$JOBS" -print_final_stats=1 \
    -artifact_prefix="fuzz/out/$t/" >"$log" 2>&1
  rc=$?
  set -e
  # With -jobs each job writes fuzz-N.log and the main log repeats their final stats: count once.
  if compgen -G 'fuzz-*.log' >/dev/null; then stats=(fuzz-*.log); else stats=("$log"); fi
  execs="$(grep -h 'stat::number_of_executed_units' "${stats[@]}" 2>/dev/null | awk '{s+=$2} END {print s+0}')"
  crashes="$(ls "fuzz/out/$t" | grep -c -E '^(crash|leak|timeout|oom)-' || true)"
  echo "fuzz $t: exit $rc, $execs executions, $crashes crash/timeout artifacts, corpus $(ls "$corpus" | wc -l) files"
  [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] || { status=1; tail -n 40 "$log"; }
  rm -f fuzz-*.log
done
exit $status
