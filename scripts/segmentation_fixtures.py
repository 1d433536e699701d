#!/usr/bin/env python3
"""Builds the noisy calls of the segmentation benchmark (run through
scripts/make-segmentation-fixtures.sh).

  segmentation_fixtures.py OUT_DIR
  segmentation_fixtures.py --unit OUT_DIR   only the unit tests' fixture (committed in
                                           Tests/AudioTests/Fixtures): the first three
                                           utterances of call b at 8 kHz in babble at 20 dB,
                                           callb8-babble20.wav and .json

Writes, for every call, rate and condition, CALL-RATE-CONDITION.wav and .json (the ground truth,
the same shape as Tests/AudioTests/Fixtures/TRACK.json):
  calls       three calls of ten utterances each (CALLS below), several espeak-ng voices,
              pauses inside sentences and one-word answers, gaps of 1.6 to 3 s between
              utterances (the bot's turn); calls a, b and c peak at -12, -2 and -6 dBFS;
  rates       8000 and 16000 Hz;
  conditions  clean, and pink, white, brown (sox's pinknoise, whitenoise, brownnoise: the last
              is car-like rumble) and babble (BABBLE_TALKERS espeak-ng voices talking at once)
              at 20, 10 and 5 dB SNR.

Ground truth is taken from the clean speech exactly as audio_fixtures.py does (phrases trimmed
to their first and last 10 ms block within 40 dB of their loudest, exact zeros elsewhere).
SNR is speech power (mean square over the utterances' samples) over noise power, the noise
covering the whole call. Deterministic: espeak-ng and sox -R (fixed seed) give the same
samples on every run; the babble's talkers start at fixed offsets.
"""
import array
import json
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audio_fixtures import mean_square, noise, render, write_wav  # noqa: E402

RATES = [8000, 16000]
NOISES = ["pink", "white", "brown", "babble"]
SNRS = [20, 10, 5]
# Speech peak level (share of full scale) per call: a quiet line and a loud one (the WebRTC
# VAD is not level-invariant). Loud mixes at low SNR saturate at full scale, as a phone line does.
SPEECH_PEAK = {"a": 0.25, "b": 0.8, "c": 0.5}
LEAD_MS = 1500          # noise before the first utterance

# A call: utterances as (voice, parts, gap after in ms); parts are texts, an int between two
# texts is a pause in ms inside the utterance (shorter than the default silence_time, 400 ms).
CALLS = {
    "a": [
        ("en-us", ["I'd like to check my balance please."], 2000),
        ("en-gb+f3", ["yes"], 2500),
        ("en-gb-scotland+m3", ["My account number is", 300, "four five six seven."], 2000),
        ("en-us+f2", ["two"], 3000),
        ("en-029", ["Can you tell me", 250, "when my card will arrive?"], 1800),
        ("en-gb-x-rp+m5", ["no"], 2200),
        ("en-us+m3", ["Please transfer two hundred dollars to my checking account."], 2000),
        ("en-gb+f4", ["I need to speak", 350, "to somebody about my bill."], 2500),
        ("en-us-nyc", ["yes please"], 2000),
        ("en-gb-x-gbclan+f2", ["Thank you, goodbye."], 2000),
    ],
    "b": [
        ("en-gb+m2", ["Hello, I want to book a table."], 2200),
        ("en-us+f4", ["four"], 2500),
        ("en-029+f3", ["On Friday evening", 300, "at about eight o'clock."], 2000),
        ("en-gb-x-rp", ["yes"], 3000),
        ("en-us+m5", ["There will be", 300, "six of us, two of them children."], 1500),
        ("en-gb-scotland+f2", ["no"], 2400),
        ("en-us-nyc+f3", ["Could you repeat the address?"], 2000),
        ("en-gb-x-gbcwmd", ["My phone number is", 300, "oh seven seven, nine one two."], 2600),
        ("en-us", ["that's right"], 2000),
        ("en-gb+f2", ["Lovely, thanks very much."], 2000),
    ],
    # Held out: not used while choosing the gate's constants, run after to check them.
    "c": [
        ("en-us+m4", ["Hi, I'm calling about my order."], 2400),
        ("en-gb-x-rp+f5", ["seven"], 2000),
        ("en-029+m2", ["It was supposed to arrive", 300, "last Tuesday."], 2600),
        ("en-us+f3", ["no"], 1800),
        ("en-gb-scotland", ["The order number is", 250, "one two three four."], 2200),
        ("en-us-nyc+m5", ["yes"], 3000),
        ("en-gb+f5", ["Can I get a refund instead?"], 2000),
        ("en-gb-x-gbclan+m4", ["I'd rather not wait", 350, "another week."], 2500),
        ("en-us+f4", ["okay"], 1600),
        ("en-gb-x-gbcwmd+f2", ["Thanks for your help."], 2000),
    ],
}

BABBLE_TALKERS = [
    ("en-us+m2", "The weather has been strange this week, first rain and then bright sun again."),
    ("en-gb+f2", "She said the meeting would start late because the train was held up outside town."),
    ("en-029+m4", "We went to the market on Saturday and bought far too many oranges and some bread."),
    ("en-us+f5", "Have you seen the new film yet? Everybody at work keeps talking about it."),
    ("en-gb-scotland+m3", "The match was close until the last ten minutes, then it all fell apart for us."),
    ("en-gb-x-rp+f4", "I think I left my umbrella in the cafe, could you ring them for me later?"),
]


def scaled(samples, gain):
    return array.array("h", (round(x * gain) for x in samples))


def call_track(tmp, name, rate, count=None):
    """The clean call at `rate` (its first `count` utterances): samples and ground truth."""
    ms = lambda v: v * rate // 1000
    samples = array.array("h", [0] * ms(LEAD_MS))
    utterances = []
    for voice, parts, gap_ms in CALLS[name][:count]:
        start = len(samples)
        pauses = []
        for part in parts:
            if isinstance(part, int):
                samples.extend([0] * ms(part))
                pauses.append(part)
            else:
                rendered = render(tmp, voice, part, rate)
                samples.extend(scaled(rendered, SPEECH_PEAK[name] * 32767 / max(1, max(abs(x) for x in rendered))))
        utterances.append({"start": start, "end": len(samples), "voice": voice,
                           "text": " ".join(p for p in parts if isinstance(p, str)), "pauses_ms": pauses})
        samples.extend([0] * ms(gap_ms))
    return samples, utterances


def babble(tmp, rate, count):
    """BABBLE_TALKERS talking at once, each looping its sentence from its own offset."""
    mix = [0.0] * count
    for index, (voice, text) in enumerate(BABBLE_TALKERS):
        speech = render(tmp, voice, text, rate)
        # 150 ms between repetitions, as a talker breathes.
        loop = list(speech) + [0] * (rate * 150 // 1000)
        offset = index * len(loop) // len(BABBLE_TALKERS)
        power = mean_square(speech)
        gain = 1 / math.sqrt(power)
        for i in range(count):
            mix[i] += gain * loop[(i + offset) % len(loop)]
    return mix


def mix(speech, utterances, background, snr):
    speech_power = mean_square([x for u in utterances for x in speech[u["start"]:u["end"]]])
    gain = math.sqrt(speech_power / (10 ** (snr / 10)) / mean_square(background))
    return [max(-32768, min(32767, round(s + gain * v))) for s, v in zip(speech, background)]


def save(out_dir, label, rate, samples, utterances, noise_kind, snr):
    write_wav(os.path.join(out_dir, label + ".wav"), rate, samples)
    truth = {"sample_rate": rate, "samples": len(samples), "noise": noise_kind, "snr_db": snr,
             "utterances": utterances}
    with open(os.path.join(out_dir, label + ".json"), "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for rate in RATES:
            for name in CALLS:
                speech, utterances = call_track(tmp, name, rate)
                prefix = "%s%d" % (name, rate // 1000)
                save(out_dir, prefix + "-clean", rate, speech, utterances, None, None)
                for kind in NOISES:
                    background = (babble(tmp, rate, len(speech)) if kind == "babble"
                                  else noise(tmp, kind + "noise", rate, len(speech)))
                    for snr in SNRS:
                        save(out_dir, "%s-%s%d" % (prefix, kind, snr), rate,
                             mix(speech, utterances, background, snr), utterances, kind, snr)


def unit(out_dir):
    with tempfile.TemporaryDirectory() as tmp:
        speech, utterances = call_track(tmp, "b", 8000, count=3)
        background = babble(tmp, 8000, len(speech))
        save(out_dir, "callb8-babble20", 8000, mix(speech, utterances, background, 20), utterances, "babble", 20)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--unit":
        unit(sys.argv[2])
    elif len(sys.argv) == 2:
        main(sys.argv[1])
    else:
        sys.exit(__doc__)
