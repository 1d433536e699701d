#!/usr/bin/env python3
"""Builds the Audio module's test fixtures (run through scripts/make-audio-fixtures.sh).

  audio_fixtures.py compose OUT_DIR   speech with espeak-ng, noise with sox, mixing here
                                      (standard library only); writes TRACK.wav and
                                      TRACK.json (ground truth) for every track.
  audio_fixtures.py vad OUT_DIR       runs the PyPI package webrtcvad-wheels over every
                                      TRACK.wav and writes vad-expected.json.

Ground truth. Each phrase is rendered alone by espeak-ng, converted by sox (no dither, so
silence stays exact zeros) and trimmed to its first and last 10 ms block within TRIM_DB of its
loudest block (espeak's inaudible decay tails, 60 dB and more down, would otherwise stretch a
300 ms pause to 500 ms of silence). The clean track therefore holds exact zeros outside the
intervals. A track places phrases on a silent timeline; a phrase made of parts keeps
the parts in one utterance with the stated pause between them. An utterance's interval is
[start, end) in samples of the track, from the first part's first sample to the last part's
last sample. Noisy tracks add sox noise scaled so that speech power (mean square over the
phrases' samples) over noise power is the stated SNR; the noise covers the whole track, so
every stretch outside the intervals is noise only.
"""
import array
import json
import math
import os
import subprocess
import sys
import tempfile
import wave

TRIM_DB = 40            # leading/trailing 10 ms blocks this far below the loudest are dropped
PEAK_DB = -3            # every phrase normalised to this peak level (dBFS)
ESPEAK_SPEED = 165      # words per minute

# A phrase: (voice, parts); parts are texts, with an int between two texts meaning a pause in ms.
# A track: leading silence, then phrases each followed by the gap after it (ms).
TRACKS = {
    "speech16": {
        "rate": 16000,
        "lead_ms": 1000,
        "phrases": [
            ("en-us", ["yes"], 1000),
            ("en-gb+f3", ["no"], 1000),
            ("en-gb-scotland+f2", ["My account number is", 300, "four five six seven."], 1000),
        ],
    },
    "speech8": {
        "rate": 8000,
        "lead_ms": 1000,
        "phrases": [
            ("en-gb-x-rp+m5", ["no"], 1000),
            ("en-us+f4", ["yes"], 1000),
            ("en-us+m3", ["Please transfer two hundred dollars from my savings account "
                          "to my checking account."], 1000),
            ("en-us+f2", ["I need to speak", 300, "to somebody about my bill."], 1000),
            ("en-029", ["Thank you."], 1000),
        ],
    },
}

# Noisy copies: (track, noise, SNR in dB). Noise-only stretches are the lead, the gaps and the tail.
NOISY = [
    ("speech16", "whitenoise", 20), ("speech16", "pinknoise", 20),
    ("speech16", "whitenoise", 10), ("speech16", "pinknoise", 10),
    ("speech8", "whitenoise", 20), ("speech8", "pinknoise", 20), ("speech8", "pinknoise", 10),
]


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, path
        samples = array.array("h", w.readframes(w.getnframes()))
        if sys.byteorder == "big":
            samples.byteswap()
        return w.getframerate(), samples


def write_wav(path, rate, samples):
    data = array.array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def render(tmp, voice, text, rate):
    """espeak-ng speech at `rate`, peak-normalised, trimmed to TRIM_DB."""
    raw = os.path.join(tmp, "espeak.wav")
    out = os.path.join(tmp, "phrase.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(ESPEAK_SPEED), "-w", raw, text], check=True)
    # -D: no dither (silence stays zero); -R: repeatable.
    subprocess.run(["sox", "-R", "-D", raw, "-r", str(rate), "-b", "16", "-c", "1", out,
                    "norm", str(PEAK_DB)], check=True)
    _, s = read_wav(out)
    block = rate // 100
    levels = [mean_square(s[i:i + block]) for i in range(0, len(s), block)]
    floor = max(levels) / 10 ** (TRIM_DB / 10)
    loud = [i for i, level in enumerate(levels) if level >= floor]
    return s[loud[0] * block:min(len(s), (loud[-1] + 1) * block)]


def noise(tmp, kind, rate, count):
    out = os.path.join(tmp, "noise.wav")
    seconds = count / rate + 0.1
    subprocess.run(["sox", "-R", "-D", "-n", "-r", str(rate), "-b", "16", "-c", "1", out,
                    "synth", "%.3f" % seconds, kind, "vol", "0.5"], check=True)
    _, s = read_wav(out)
    assert len(s) >= count
    return s[:count]


def compose(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        clean = {}
        for name, spec in TRACKS.items():
            rate = spec["rate"]
            ms = lambda v: v * rate // 1000
            samples = array.array("h", [0] * ms(spec["lead_ms"]))
            utterances = []
            for voice, parts, gap_ms in spec["phrases"]:
                start = len(samples)
                pauses = []
                for part in parts:
                    if isinstance(part, int):
                        samples.extend([0] * ms(part))
                        pauses.append(part)
                    else:
                        samples.extend(render(tmp, voice, part, rate))
                utterances.append({
                    "start": start, "end": len(samples), "voice": voice,
                    "text": " ".join(p for p in parts if isinstance(p, str)),
                    "pauses_ms": pauses,
                })
                samples.extend([0] * ms(gap_ms))
            clean[name] = (rate, samples, utterances)
            save(out_dir, name + "-clean", rate, samples, utterances, None, None)

        for name, kind, snr in NOISY:
            rate, speech, utterances = clean[name]
            n = noise(tmp, kind, rate, len(speech))
            speech_power = mean_square([x for u in utterances for x in speech[u["start"]:u["end"]]])
            gain = math.sqrt(speech_power / (10 ** (snr / 10)) / mean_square(n))
            mixed = [round(s + gain * v) for s, v in zip(speech, n)]
            assert max(mixed) <= 32767 and min(mixed) >= -32768, "mix clips: lower PEAK_DB"
            label = "%s-%s%d" % (name, kind.replace("noise", ""), snr)
            save(out_dir, label, rate, mixed, utterances, kind, snr)


def mean_square(xs):
    return sum(float(x) * x for x in xs) / len(xs)


def save(out_dir, label, rate, samples, utterances, noise_kind, snr):
    write_wav(os.path.join(out_dir, label + ".wav"), rate, samples)
    truth = {
        "sample_rate": rate,
        "samples": len(samples),
        "noise": noise_kind,
        "snr_db": snr,
        "utterances": utterances,
    }
    with open(os.path.join(out_dir, label + ".json"), "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")


def vad(out_dir):
    import webrtcvad  # from the PyPI package webrtcvad-wheels

    result = {"generator": "webrtcvad-wheels " + package_version("webrtcvad-wheels"), "tracks": {}}
    for file in sorted(os.listdir(out_dir)):
        if not file.endswith(".wav"):
            continue
        rate, samples = read_wav(os.path.join(out_dir, file))
        runs = {}
        # Native rate, plus 2x and 3x sample repetition for 16 kHz tracks (32 and 48 kHz input
        # that the Swift test rebuilds exactly).
        factors = [1, 2, 3] if rate == 16000 else [1]
        for factor in factors:
            up = array.array("h", (x for x in samples for _ in range(factor))) if factor > 1 else samples
            fs = rate * factor
            for frame_ms in (10, 20, 30):
                n = fs * frame_ms // 1000
                for mode in range(4):
                    v = webrtcvad.Vad(mode)
                    bits = [v.is_speech(up[i:i + n].tobytes(), fs)
                            for i in range(0, len(up) - n + 1, n)]
                    runs["%d/%d/%d" % (fs, frame_ms, mode)] = {"frames": len(bits), "hex": pack(bits)}
        result["tracks"][file[:-4]] = runs
    with open(os.path.join(out_dir, "vad-expected.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")


def pack(bits):
    """Decisions as hex digits, four frames a digit, the first frame in the highest bit."""
    bits = bits + [False] * (-len(bits) % 4)
    return "".join("%x" % (bits[i] * 8 + bits[i + 1] * 4 + bits[i + 2] * 2 + bits[i + 3])
                   for i in range(0, len(bits), 4))


def package_version(name):
    from importlib.metadata import version
    return version(name)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("compose", "vad"):
        sys.exit(__doc__)
    {"compose": compose, "vad": vad}[sys.argv[1]](sys.argv[2])
