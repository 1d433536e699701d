#!/usr/bin/env bash
# Runs `swift test --skip-build` with the arguments given (e.g. `--package-path Tools`) and
# keeps its whole output in reports/. When it fails, the output ends with a digest, because
# CI shows only the end of a run: the failed expectations and runtime errors, and the tests
# that started and never finished (those running when a test process crashed).
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p reports
name=swift-test
for a in "$@"; do [[ $a == Tools ]] && name=swift-test-tools; done
log="reports/$name.log"

"${SWIFT:-swift}" test --skip-build "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] && exit 0

echo
echo "==== swift test $* failed (exit $rc); the whole output is in $log"
echo "---- failures and runtime errors:"
grep -aE "Fatal error|fatal error|Precondition failed|Assertion failed|error:|recorded an issue|✘ Test|XCTAssert|signal|Crash|Segmentation fault|Illegal instruction|Aborted" "$log" \
    | grep -av "^✘ Suite" | tail -n 60
if grep -aq "unexpected signal code 13" "$log"; then
    echo "---- signal 13 is SIGPIPE: something in the test process wrote to a pipe or socket whose reader"
    echo "     had gone, without MSG_NOSIGNAL (no backtrace: the default action ends the process at once)"
fi
if grep -aq "crashed" "$log"; then
    echo "---- the crash (the Swift backtracer's first frames):"
    grep -a -m 3 -A 14 "crashed" "$log"
fi
echo "---- tests started and never finished (the first 40):"
awk '
    /^◇ Test .* started\.$/ {
        n = $0; sub(/^◇ Test /, "", n); sub(/ started\.$/, "", n)
        if (n != "run" && n !~ /^case passing/) open[n] = 1
        next
    }
    /^(✔|✘|➜) Test / {
        n = $0; sub(/^(✔|✘|➜) Test /, "", n)
        if (!sub(/ (with [0-9]+ test cases? )?(passed|failed) after [0-9.]+ seconds.*$/, "", n)) sub(/ skipped.*$/, "", n)
        delete open[n]
    }
    END { c = 0; for (n in open) { c++; if (c <= 40) print "  " n }; print "  (" c " in all)" }
' "$log"
exit "$rc"
