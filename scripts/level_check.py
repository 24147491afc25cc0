"""How the models hold up when the microphone level changes.

Takes the held-out audio of `hushword eval` (same seed, voices, noise and rooms), turns it up
or down by each gain (clipping at 16 bits, as an over-driven microphone does) and runs the
device pipeline on it (the bit-exact host reference, command window held open): wake word FRR
and false accepts per hour, command accuracy and unknown phrases accepted, at every gain. The
held-out talking level is already -15..+6 dB around a normal RMS of 3000; -20 dB here is a far
talker or an insensitive microphone, +10 dB a gain set so high that the peaks clip.

    python scripts/level_check.py                       # the shipped models, -20 -10 0 +10 dB
    python scripts/level_check.py --models DIR --gains -30 0 12

Builds the held-out audio on first use (TTS engines: make train-deps), then reads it from
`hushword eval`'s cache.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from host_tools import evaluate, reference  # noqa: E402
from host_tools.paths import MODELS  # noqa: E402
from host_tools.train import heldout  # noqa: E402


def gained(x, db):
    """int16 audio turned up or down by `db`, clipped to 16 bits."""
    y = np.round(x.astype(np.float64) * 10 ** (db / 20.0))
    return np.clip(y, -32768, 32767).astype(np.int16)


def heard(events, meta, model):
    """Per phrase of `meta`: the label `model` gave it first (None: nothing), from its start
    to evaluate.HIT_AFTER_S after its end, as `hushword eval` counts."""
    t = np.array([e["t"] for e in events if e["model"] == model])
    labels = [e["label"] for e in events if e["model"] == model]
    out = []
    for _, start, end, _ in meta:
        i = np.searchsorted(t, start)
        out.append(labels[i] if i < len(t) and t[i] <= end + evaluate.HIT_AFTER_S else None)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--models", default=str(MODELS), help="models directory (default: %(default)s)"
    )
    ap.add_argument(
        "--gains",
        type=float,
        nargs="+",
        default=[-20.0, -10.0, 0.0, 10.0],
        help="dB applied to the held-out audio (default: %(default)s)",
    )
    ap.add_argument("--seed", type=int, default=1234, help="held-out audio seed (as eval)")
    ap.add_argument("--minutes", type=float, default=60, help="minutes of negative audio")
    ap.add_argument("--positives", type=int, default=300, help="phrases per wake word")
    ap.add_argument("--per-command", type=int, default=40, help="phrases per command")
    args = ap.parse_args(argv)
    models, errors = reference.load_models(args.models)
    if not models:
        raise SystemExit("level_check: no models in %s (%s)" % (args.models, "; ".join(errors)))
    neg, _ = heldout.negative_stream(args.seed, int(args.minutes * 60))
    hours = len(neg) / 16000.0 / 3600.0
    streams = {}
    for name, kind, labels, _, _ in models:
        if kind == "wake":
            label = [lb for lb in labels if lb != "negative"][-1]
            streams[name] = (kind, heldout.wake_stream(label, args.positives, args.seed))
        else:
            streams[name] = (kind, heldout.command_stream(args.per_command, args.seed)[:2])
    cols = []
    for name, (kind, _) in streams.items():
        cols += ["%s FRR" % name, "FA/h"] if kind == "wake" else ["%s acc" % name, "unknown"]
    print("held-out audio at each gain (%.2f h of negative audio)" % hours)
    print("| gain | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    wake = [m for m in models if m[1] == "wake"]
    for db in args.gains:
        neg_ev = reference.run(gained(neg, db), args.models, models=wake) if wake else []
        row = []
        for name, (kind, (x, meta)) in streams.items():
            only = [m for m in models if m[0] == name]
            got = heard(reference.run(gained(x, db), args.models, True, models=only), meta, name)
            if kind == "wake":
                frr = np.mean([g is None for g in got])
                fa = sum(e["model"] == name for e in neg_ev) / hours
                row += ["%.1f %%" % (100 * frr), "%.1f" % fa]
            else:
                said = [m[0] for m in meta]
                cmd = [g == s for g, s in zip(got, said) if s != "unknown"]
                unk = [g is not None for g, s in zip(got, said) if s == "unknown"]
                row += ["%.1f %%" % (100 * np.mean(cmd)), "%.1f %%" % (100 * np.mean(unk))]
        print("| %+.0f dB | " % db + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
