#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing-client cases (via the `kosoku` runner from PyPI)
# against wsecho and fails unless every case is OK, NON-STRICT or INFORMATIONAL.
# Sections 12 and 13 (permessage-deflate) are excluded: no extension is negotiated.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait-for.sh
BIN="$(swift build -c release --package-path Tools --show-bin-path)"  # wsecho is a tool
OUT="${AUTOBAHN_OUT:-reports/autobahn}"
rm -rf "$OUT"; mkdir -p "$OUT"
PORTFILE="$(mktemp)"
"$BIN/wsecho" --port 0 >"$PORTFILE" 2>"$OUT/wsecho.stderr" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$PORTFILE"' EXIT
wait_for 10 grep -q port "$PORTFILE"
PORT="$(awk '{print $NF}' "$PORTFILE")"
[ -n "$PORT" ] || { echo "autobahn: wsecho did not start"; cat "$OUT/wsecho.stderr"; exit 1; }
.venv/bin/kosoku -m fuzzingclient -x '12.*' -x '13.*' -p 2 -o "$OUT" "127.0.0.1:$PORT" >"$OUT/kosoku.log" 2>&1 || true
kill -0 $PID || { echo "autobahn: wsecho died during the run"; exit 1; }
.venv/bin/python - "$OUT/index.json" <<'PY'
import json, sys, collections
cases = next(iter(json.load(open(sys.argv[1])).values()))
good = {"OK", "NON-STRICT", "INFORMATIONAL"}
bad = {k: (v["behavior"], v["behaviorClose"]) for k, v in cases.items()
       if v["behavior"] not in good or v["behaviorClose"] not in good}
counts = collections.Counter(v["behavior"] for v in cases.values())
print("autobahn behaviours:", dict(counts))
for k, v in sorted(bad.items()):
    print(f"autobahn FAILED case {k}: {v}")
if len(cases) < 290:
    print(f"autobahn: only {len(cases)} cases ran"); sys.exit(1)
print(f"autobahn: {len(cases) - len(bad)} passed, {len(bad)} failed")
sys.exit(1 if bad else 0)
PY
