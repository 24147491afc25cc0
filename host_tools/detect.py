"""`hushword detect`: run the device pipeline (bit-exact numpy reference) on WAV files.

With --json, one object per detection per line:
``{"file": PATH, "event": "wake"|"command", "label": ..., "t": SECONDS, "score": FLOAT}``.
"""

import json
import os
import sys

from host_tools import cutoff, reference, wavio
from host_tools.errors import HushwordError
from host_tools.paths import MODELS


def add_arguments(parser):
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE.wav",
        help="WAV file (or a directory: its .wav files, in order, subdirectories too): PCM "
        "(8-32 bit) or float, any rate and channel count; other than 16 kHz mono 16-bit is "
        "converted, with a notice",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per detection")
    parser.add_argument(
        "--commands-anytime",
        action="store_true",
        help="accept commands for the whole file, not only in the window after a wake word",
    )
    parser.add_argument(
        "--no-preroll",
        action="store_true",
        help="run each file from cold, as a board just switched on hears it; by default each "
        "is preceded by 1 s of its own quietest 0.2 s, as a board that has been listening in "
        "that room would hear it (a file that starts with the word is otherwise missed more)",
    )
    cutoff.add_override_argument(parser)
    parser.add_argument(
        "--models",
        default=str(MODELS),
        metavar="DIR",
        help="model directory (default: %(default)s)",
    )


def wav_files(paths):
    """The paths given, a directory replaced by the .wav files under it (sorted)."""
    for p in paths:
        if os.path.isdir(p):
            found = wavio.find(p)
            if not found:
                print("hushword: warning: %s: no .wav files in it" % p, file=sys.stderr)
            yield from found
        else:
            yield p


def run(args):
    cutoffs = cutoff.parse_overrides(args.cutoff, args.models)
    models, errors = reference.load_models(args.models, cutoffs)
    for e in errors:
        print("hushword: warning: " + e, file=sys.stderr)
    if not models:
        raise HushwordError("no usable models in %s" % args.models)
    if not args.commands_anytime and not any(m[1] == "wake" for m in models):
        # Commands are heard only after a wake word: every file would say "no detections".
        raise HushwordError(
            "no usable wake word model in %s, so nothing can be heard "
            "(or give --commands-anytime)" % args.models
        )
    failed = ran = 0
    for path in wav_files(args.files):
        ran += 1
        try:
            x = wavio.read(path, notice=lambda m: print("hushword: " + m, file=sys.stderr))
        except HushwordError as e:
            print("hushword: error: %s" % e, file=sys.stderr)
            failed += 1
            continue
        events = reference.run_recording(
            x, args.models, args.commands_anytime, models=models, settle=not args.no_preroll
        )[0]
        for e in events:
            if args.json:
                rec = {"file": path, "event": e["ev"], "label": e["label"], "t": e["t"]}
                rec["score"] = e["score"]
                print(json.dumps(rec), flush=True)
            else:
                print(
                    "%s  %8.2fs  %-7s  %-20s  %.3f"
                    % (path, e["t"], e["ev"], e["label"], e["score"])
                )
        if not events and not args.json:
            print("%s  no detections" % path)
    if not ran:
        raise HushwordError("no .wav files to run (see the warnings above)")
    return 1 if failed else 0
