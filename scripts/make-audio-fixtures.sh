#!/usr/bin/env bash
# Regenerates Tests/AudioTests/Fixtures: speech tracks (espeak-ng + sox), their ground truth,
# and the WebRTC VAD decisions expected on them (PyPI package webrtcvad-wheels).
# Run once by hand; the output is committed, so neither CI nor `make test` runs this.
#
#   scripts/make-audio-fixtures.sh            # needs espeak-ng, sox, python3 (with venv)
#   AUDIO_FIXTURE_VENV=/path scripts/make-audio-fixtures.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/Tests/AudioTests/Fixtures"
venv=${AUDIO_FIXTURE_VENV:-/tmp/vadvenv}

for tool in espeak-ng sox python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install espeak-ng sox python3-venv)" >&2; exit 1; }
done
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "webrtcvad-wheels==2.0.14.post1"

rm -f "$out"/*.wav "$out"/*.json
python3 "$root/scripts/audio_fixtures.py" compose "$out"
"$venv/bin/python" "$root/scripts/audio_fixtures.py" vad "$out"
du -ch "$out"/* | tail -1
