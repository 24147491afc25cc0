"""Command models on validation builds whose unknown phrases are new to them.

The validation examples that `hushword train` chooses epochs and cutoffs on say unknown
phrases from the same list and near-command generator as the training examples (only the
voices are new). These builds are the same validation examples (same voices, seeds and
commands), except that every unknown example from that list or generator says one of the
phrases below instead, which neither training nor `hushword eval` uses. Each model is scored
at its own cutoff with the bit-exact int8 reference, as training scores validation.

    python scripts/novel_unknowns.py firmware/models runs/wide --seeds 0 1 2

Needs the TTS engines (make train-deps); each build of 2,000 examples takes about half a
minute on 2 cores and is cached under .cache/hushword/novel/.
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from host_tools.train import corpus, dataset, export, loop, tts  # noqa: E402

NOVEL = [
    "open the gate", "feed the cat", "make some tea", "lift it up", "slide it over",
    "light rain today", "turn around", "pass me the bread", "nice and quiet", "volunteer work",
    "playful puppy", "pose for a photo", "next to me", "next month", "candle light",
    "council meeting", "sign the form", "time to go", "top shelf", "shop online",
    "music hall", "the volume knob", "lights and shadows", "paws and claws", "post office",
    "what a nice day", "what is that", "time for lunch", "cancelled trains", "the stopwatch",
    "lights in the sky", "turn it down", "up and down", "play it again", "next of kin",
    "paint the fence", "call me later", "is it raining", "bright lights", "pour the milk",
    "wait a minute", "slow and steady", "keep it down", "close the curtains",
    "the volume control", "a nice song", "my favourite music", "listen to this",
    "lights please", "halt",
]  # fmt: skip


def builds(seeds):
    if set(NOVEL) & (set(corpus.UNKNOWN_PHRASES) | set(corpus.HELDOUT_UNKNOWN)):
        raise SystemExit("a phrase of NOVEL is in a training or held-out list")
    if any(corpus.says_command(p) for p in NOVEL):
        raise SystemExit("a phrase of NOVEL says a command")
    corpus.UNKNOWN_PHRASES = NOVEL  # also changes the builds' cache key
    corpus.command_confusable = lambda rng: NOVEL[int(rng.integers(0, len(NOVEL)))]
    root = os.path.join(loop.CACHE, "novel")
    os.makedirs(root, exist_ok=True)
    voices = tts.voice_pools()["val"]
    return {s: dataset.build("commands", "val", s, 2000, voices, root) for s in seeds}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="directories with commands.bin/.json")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="validation seeds")
    args = ap.parse_args()
    tts.require_engines()
    labels = dataset.Recipe("commands").labels
    sets = builds(args.seeds)
    print("model  seed  cutoff  accuracy  unknown accepted  selection error")
    for m in args.models:
        man = json.loads(Path(m, "commands.json").read_text())
        cut = max(man["probability_cutoff"].values())
        for s, (x, y) in sets.items():
            probs = export.quantized_probs(str(Path(m, "commands.bin")), x)
            err, _, acc, unk = loop.command_metrics(probs, y, labels, cut)
            print("%s  %d  %.2f  %.1f %%  %.2f %%  %.3f" % (m, s, cut, 100 * acc, 100 * unk, err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
