"""Render assets/demo.wav: two wake word + command requests by voices held out of training.

Needs espeak-ng (make train-deps). The rendered file is committed, so `make demo` needs no TTS.
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from host_tools import wavio  # noqa: E402
from host_tools.train import tts  # noqa: E402

RATE = 16000


def silence(s):
    return np.zeros(int(s * RATE), np.int16)


def main():
    a = ("espeak", "en-us", "m3")  # test-pool voices: never heard in training
    b = ("espeak", "en-us", "Andrea")
    parts = [
        silence(2.0),
        tts.synth(a, "hey jarvis"),
        silence(0.5),
        tts.synth(a, "lights on"),
        silence(2.0),
        tts.synth(b, "hey jarvis"),
        silence(0.5),
        tts.synth(b, "what time is it"),
        silence(2.0),
    ]
    x = np.concatenate(parts).astype(np.float64)
    rng = np.random.default_rng(7)
    x += rng.normal(0, 30, len(x))  # a quiet room, about -60 dBFS
    out = ROOT / "assets" / "demo.wav"
    wavio.write(out, np.clip(np.round(x), -32768, 32767).astype(np.int16))
    print("wrote %s (%.1f s)" % (out, len(x) / RATE))


if __name__ == "__main__":
    main()
