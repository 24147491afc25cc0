"""How the shipped models hear one TTS voice, in clean audio.

Renders every command (or a wake word) in the given voices at three speeds (the slowest,
normal and fastest of the held-out set) and three pitch settings (flite's `rms` ignores
pitch), puts each clip between stretches of silence and runs the device pipeline on it (the
bit-exact host reference, command window held open). A voice missed in clean audio has a
speaker gap, not a noise problem.

    python scripts/voice_check.py flite:rms flite:awb festival:kal_diphone
    python scripts/voice_check.py --word hey_jarvis flite:rms espeak:en-us-nyc
    python scripts/voice_check.py --word alexa --microwakeword kokoro:jf_nezumi

Voices are ENGINE:NAME[+VARIANT] as `hushword eval` names them. Needs the TTS engines
(make train-deps).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from host_tools import evaluate, reference  # noqa: E402
from host_tools.errors import HushwordError  # noqa: E402
from host_tools.paths import MODELS  # noqa: E402
from host_tools.train import corpus, tts  # noqa: E402

SPEEDS = (0.8, 1.0, 1.3)  # the ends and the middle of the held-out range
PITCHES = (0.2, 0.5, 0.8)
ENGINES = ("espeak", "flite", "festival", "piper", "kokoro")  # as tts.synth names them


def parse_voice(s):
    engine, _, rest = s.partition(":")
    name, _, variant = rest.partition("+")
    if not name:
        raise SystemExit("voice_check: a voice is ENGINE:NAME[+VARIANT], e.g. flite:rms")
    if engine not in ENGINES:
        raise SystemExit("voice_check: no engine %r (one of: %s)" % (engine, ", ".join(ENGINES)))
    return (engine, name, variant)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("voices", nargs="+", help="e.g. flite:rms festival:kal_diphone espeak:en-us")
    ap.add_argument("--word", help="check this wake word instead of the commands")
    ap.add_argument(
        "--models", default=str(MODELS), help="models directory (default: %(default)s)"
    )
    ap.add_argument(
        "--microwakeword",
        action="store_true",
        help="with --word alexa or hey_jarvis: also count the clips pymicro-wakeword's model "
        "of that word hears (its score reaches its cutoff)",
    )
    args = ap.parse_args(argv)
    voices = {v: parse_voice(v) for v in args.voices}  # every name checked before any work
    if args.microwakeword and args.word not in evaluate.MWW_WORDS:
        raise SystemExit(
            "voice_check: --microwakeword needs --word %s" % " or ".join(evaluate.MWW_WORDS)
        )
    tts.require_engines()
    models, _ = reference.load_models(args.models)
    if args.word:
        models = [m for m in models if m[0] == args.word]
        phrases = {args.word: corpus.SPELLINGS.get(args.word, [args.word])[0]}
        kind = "wake"
    else:
        models = [m for m in models if m[1] == "command"]
        phrases = {c.replace(" ", "_"): c for c in corpus.COMMANDS}
        kind = "command"
    if not models:
        raise SystemExit("voice_check: no %s model in %s" % (args.word or "command", args.models))
    gap = np.zeros(tts.RATE, np.int16)
    per_clip = len(SPEEDS) * len(PITCHES)
    print(
        "clips heard (of %d per phrase: speeds %s x pitch settings %s), clean audio"
        % (per_clip, SPEEDS, PITCHES)
    )
    for v, voice in voices.items():
        row, total, mww = [], 0, 0
        for label, text in phrases.items():
            heard = 0
            for speed in SPEEDS:
                for pitch in PITCHES:
                    x = tts.synth(voice, text, speed, pitch, tts.cache_dir())
                    audio = np.concatenate([gap, x, gap, gap])
                    evs = reference.run(audio, args.models, True, models=models)
                    heard += any(e["label"] == label for e in evs if e["ev"] == kind)
                    if args.microwakeword:
                        scores, cutoff = evaluate.mww_scores(label, audio)
                        mww += bool(scores.max() >= cutoff)
            row.append("%s %d" % (label, heard))
            total += heard
        line = "%-24s %3d of %3d  (%s)" % (v, total, per_clip * len(phrases), ", ".join(row))
        if args.microwakeword:
            line += "; microWakeWord %d of %d" % (mww, per_clip)
        print(line)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HushwordError as e:  # a voice whose engine is missing, a TTS failure: one line
        sys.exit("voice_check: %s" % e)
