"""The models on the one neural voice no model trains on, in held-out noise and rooms.

`hushword eval`'s held-out voices are older kinds of synthesis. Kokoro's `jf_nezumi` is in no
training, validation or test pool (`tts.KOKORO_SPARE`), so this says the held-out set's phrases
(each command, the held-out unknown phrases, each wake word's spellings) in that voice and in its
half-and-half blends with the four Kokoro training speakers, dressed as the held-out set is
(rooms, noise at 5-25 dB SNR or clean, talking levels -15..+6 dB), and scores the models with the
bit-exact host reference (command window held open), per voice. There is no negative audio here:
false accepts per hour are `hushword eval`'s.

    python scripts/neural_check.py                          # firmware/models
    python scripts/neural_check.py firmware/models runs/x   # side by side

Needs Kokoro (make train-deps); a render takes about 0.45 s on one core, and renders and streams
are cached under .cache/hushword/.
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
from host_tools.train import heldout, tts  # noqa: E402

SEED = 4321  # not the held-out set's: other speeds, pitches, rooms and noise


def voices():
    spare = tts.KOKORO_SPARE
    return [("kokoro", spare, "")] + [("kokoro", spare, other) for other in tts.KOKORO_VOICES]


def by_voice(meta):
    """Voice name -> indices of its phrases, the unblended voice first."""
    out = {}
    for i, m in enumerate(meta):
        out.setdefault(m[3], []).append(i)
    return dict(sorted(out.items(), key=lambda kv: ("+" in kv[0], kv[0])))


def check_commands(d, models, per_command, vs):
    stream, meta = heldout.phrase_stream(
        heldout.command_texts(per_command, 6 * per_command), SEED, "neural-cmd", voices=vs
    )
    evs = reference.run(stream, d, True, models=models)
    got = evaluate.heard_as(np.array([e["t"] for e in evs]), [e["label"] for e in evs], meta)
    rows = []
    for v, idx in [("all", range(len(meta)))] + list(by_voice(meta).items()):
        cmd = [i for i in idx if meta[i][0] != "unknown"]
        unk = [i for i in idx if meta[i][0] == "unknown"]
        ok = sum(got[i] == meta[i][0] for i in cmd)
        acc = sum(got[i] is not None for i in unk)
        rows.append(
            "  %-31s commands %3d of %3d (%5.1f %%), unknown phrases accepted %2d of %3d (%4.1f %%)"
            % (v, ok, len(cmd), 100 * ok / max(1, len(cmd)), acc, len(unk),
               100 * acc / max(1, len(unk)))
        )  # fmt: skip
    return rows


def check_wake(d, model, word, n, vs):
    stream, meta = heldout.phrase_stream(
        heldout.wake_texts(word, n), SEED, "neural-%s" % word, voices=vs
    )
    evs = reference.run(stream, d, True, models=[model])
    heard = evaluate.hits([e["t"] for e in evs if e["ev"] == "wake"], meta)
    rows = []
    for v, idx in [("all", range(len(meta)))] + list(by_voice(meta).items()):
        h = int(heard[list(idx)].sum())
        rows.append("  %-31s missed %2d of %3d (FRR %4.1f %%)" % (v, len(idx) - h, len(idx),
                                                                100 * (1 - h / len(idx))))  # fmt: skip
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", default=[str(MODELS)], help="models directories")
    ap.add_argument(
        "--per-command", type=int, default=10, help="phrases per command (default: %(default)s)"
    )
    ap.add_argument(
        "--per-word", type=int, default=60, help="phrases per wake word (default: %(default)s)"
    )
    args = ap.parse_args(argv)
    if not tts.kokoro_has():
        raise SystemExit("neural_check: Kokoro is not installed: " + tts.KOKORO_HINT)
    vs = voices()
    for d in args.models:
        models, errors = reference.load_models(d)
        if not models:
            raise SystemExit("neural_check: no models in %s (%s)" % (d, "; ".join(errors)))
        print("%s, neural voice %s and its blends, at each model's cutoff:" % (d, vs[0][1]))
        for m in models:
            cut = m[3].get("probability_cutoff", 0.5)
            print("%s (cutoff %s):" % (m[0], max(cut.values()) if isinstance(cut, dict) else cut))
            if m[1] == "command":
                rows = check_commands(d, [m], args.per_command, vs)
            else:
                rows = check_wake(d, m, m[0], args.per_word, vs)
            print("\n".join(rows), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HushwordError as e:  # a TTS failure: one line
        sys.exit("neural_check: %s" % e)
