#!/usr/bin/env bash
# Builds scripts/eventstream-bench.swift with -O over the Lex module's pure event stream
# sources (as scripts/fuzz.sh does for the fuzzer) and runs it.
#   scripts/bench-eventstream.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFTC="${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}"
CLANG="${CLANG:-$(dirname "$SWIFTC")/clang}"
out=.build/eventstream-bench; mkdir -p "$out/include/COpenSSL" "$out/include/CZlib"
for m in COpenSSL:crypto CZlib:z; do
  name=${m%%:*}; lib=${m##*:}
  printf 'module %s {\n    header "%s"\n    link "%s"\n    export *\n}\n' \
    "$name" "$PWD/Sources/$name/include/$name.h" "$lib" > "$out/include/$name/module.modulemap"
done
"$CLANG" -O2 -c Sources/COpenSSL/shim.c -I Sources/COpenSSL/include -o "$out/copenssl-shim.o"
files=(); for f in EventStreamMessage EventStreamEncoder EventStreamDecoder EventJSON StartConversationTypes \
  StartConversationInputEvents StartConversationOutputEvents SigV4EventSigner SigV4EventVerifier SigV4Signer \
  SigV4Request SigV4CanonicalRequest SigningKeyCache SigV4Date Digest Secret URIEncoding; do
  files+=("Sources/Lex/$f.swift"); done
"$SWIFTC" -O -parse-as-library -swift-version 6 -module-name EventStreamBench -I "$out/include" \
  "${files[@]}" scripts/eventstream-bench.swift "$out/copenssl-shim.o" -lcrypto -lz -o "$out/bench"
"$out/bench"
