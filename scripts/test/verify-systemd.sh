#!/usr/bin/env bash
# Checks contrib/systemd/lexconnector.service with systemd-analyze:
#  - `verify` on a copy whose ExecStart points at the built binary (verify
#    checks that the executable exists); any warning (unknown key, bad value)
#    fails too, since verify itself exits 0 on those;
#  - `security --offline` exposure score at most 2.0 ("OK").
# Usage: scripts/test/verify-systemd.sh [BIN_DIR]   (default: swift build -c release --show-bin-path)
set -euo pipefail
# A relative BIN_DIR is relative to where the script is called from.
bin_arg=${1:-${BIN_DIR:-}}
[ -n "$bin_arg" ] && bin_arg=$(cd "$bin_arg" && pwd)
cd "$(dirname "$0")/../.."

unit=contrib/systemd/lexconnector.service
bin_dir=${bin_arg:-$(swift build -c release --show-bin-path)}
binary=$bin_dir/lexconnector
command -v systemd-analyze >/dev/null || { echo "verify-systemd: systemd-analyze missing (apt-get install systemd)"; exit 1; }
[ -x "$binary" ] || { echo "verify-systemd: $binary not built (swift build -c release)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Same name as the original: verify derives the unit's name from the file.
sed "s#^ExecStart=/usr/local/bin/lexconnector #ExecStart=$binary #" "$unit" > "$work/lexconnector.service"
grep -q "^ExecStart=$binary " "$work/lexconnector.service" || { echo "verify-systemd: ExecStart not found in $unit"; exit 1; }

failed=0
if out=$(systemd-analyze verify "$work/lexconnector.service" 2>&1) && [ -z "$out" ]; then
    echo "verify-systemd: systemd-analyze verify: OK"
else
    echo "$out"
    echo "verify-systemd: systemd-analyze verify: FAILED"
    failed=1
fi

# The exposure score (0 = locked down, 10 = unprotected), threshold in tenths.
if out=$(systemd-analyze security --offline=yes --threshold=20 "$work/lexconnector.service" 2>&1); then
    echo "verify-systemd: $(grep -o 'Overall exposure level.*' <<<"$out")"
else
    echo "$out" | tail -n 25
    echo "verify-systemd: systemd-analyze security: exposure above 2.0"
    failed=1
fi
exit $failed
