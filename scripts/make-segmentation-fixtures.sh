#!/usr/bin/env bash
# Generates the noisy calls of the segmentation benchmark (scripts/segmentation_fixtures.py:
# espeak-ng speech, sox noise, mixed in Python's standard library) into a cache folder; not
# committed. Deterministic; skipped when the folder already holds this script's output.
#
#   scripts/make-segmentation-fixtures.sh [OUT_DIR]     # default .cache/segmentation
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.cache/segmentation}

for tool in espeak-ng sox python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install espeak-ng sox python3)" >&2; exit 1; }
done
stamp=$(cat "$root/scripts/segmentation_fixtures.py" "$root/scripts/audio_fixtures.py" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/STAMP" 2>/dev/null)" = "$stamp" ]; then
  echo "segmentation fixtures up to date in $out"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out"
python3 "$root/scripts/segmentation_fixtures.py" "$out"
echo "$stamp" > "$out/STAMP"
echo "segmentation fixtures: $(ls "$out"/*.wav | wc -l) calls, $(du -sh "$out" | cut -f1) in $out"
