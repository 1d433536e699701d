#!/usr/bin/env bash
# Fetches the AWS Signature Version 4 test suite that botocore ships in its
# source distribution (tests/unit/auth/aws4_testsuite) into CACHE_DIR/aws4_testsuite.
# The suite is not committed: it is downloaded once with pip and kept in a
# folder git ignores. Idempotent: does nothing when the folder is present.
#
#   scripts/fetch-sigv4-suite.sh .cache
set -euo pipefail

BOTOCORE_VERSION=1.43.11
cache=${1:?usage: $0 CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
target="$cache/aws4_testsuite"

if [ -d "$target" ] && [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
    exit 0
fi

cd "$(dirname "$0")/.."
if [ -x .venv/bin/pip ]; then
    pip=(.venv/bin/pip)
else
    pip=(python3 -m pip)
fi

sdist="$cache/botocore-$BOTOCORE_VERSION.tar.gz"
if [ ! -f "$sdist" ]; then
    "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
        "botocore==$BOTOCORE_VERSION" -d "$cache"
fi

tmp=$(mktemp -d "$cache/aws4_testsuite.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$sdist" -C "$tmp" "botocore-$BOTOCORE_VERSION/tests/unit/auth/aws4_testsuite"
mv "$tmp/botocore-$BOTOCORE_VERSION/tests/unit/auth/aws4_testsuite" "$target"
echo "SigV4 test suite: $(find "$target" -name '*.req' | wc -l) cases in $target"
