"""`hushword cutoff`: show or set how sure a model must be before it fires, on the board.

A higher cutoff means fewer false accepts and more misses. The value is saved on the board and
holds after a reset; `default` goes back to the model's own (its manifest's
`probability_cutoff`). `hushword eval --recordings` shows how high missed clips scored, and
`docs/models` has each model's DET curve: false accepts per hour against misses by cutoff.
"""

import json

from host_tools.device import Device, add_port_arguments
from host_tools.errors import HushwordError


def add_arguments(p):
    p.description = (
        "Show or set how sure each model on the board must be before it fires (its smoothed "
        "score against its cutoff). Higher: fewer false accepts, more misses. A value set "
        "here is saved on the board and holds after a reset; 'default' goes back to the "
        "model's own. Try values on recordings first with hushword eval --recordings DIR "
        "--cutoff MODEL=VALUE; docs/models has each wake word's DET curve."
    )
    add_port_arguments(p)
    p.add_argument("model", nargs="?", help="model to set, e.g. hey_jarvis, alexa or commands")
    p.add_argument(
        "value",
        nargs="?",
        help="new cutoff, 0.05-0.999 (higher: fewer false accepts, more misses), or 'default'",
    )
    p.add_argument("--json", action="store_true", help="print the reply as JSON")


def add_override_argument(p):
    """--cutoff MODEL=VALUE for the host tools that run the pipeline (detect, eval)."""
    p.add_argument(
        "--cutoff",
        action="append",
        default=[],
        metavar="MODEL=VALUE",
        help="run MODEL at this cutoff instead of its own, as `hushword cutoff` sets it on a "
        "board (repeatable), e.g. --cutoff alexa=0.97",
    )


def parse_overrides(items, models_dir=None):
    """{model: cutoff} from MODEL=VALUE strings, checked as the board checks them."""
    from host_tools import reference  # first: it puts the firmware on sys.path
    from hushword.app import check_cutoff

    out = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise HushwordError("--cutoff takes MODEL=VALUE, e.g. alexa=0.97 (got %r)" % item)
        try:
            c = check_cutoff(parse_value(value))
        except ValueError as e:
            raise HushwordError("--cutoff %s: %s" % (item, e)) from None
        if c is not None:  # "default": the model's own
            out[name] = c
    if out and models_dir is not None:
        models, _ = reference.load_models(models_dir)
        missing = sorted(set(out) - {m[0] for m in models})
        if missing:
            raise HushwordError("--cutoff: no model %s in %s" % (", ".join(missing), models_dir))
    return out


def parse_value(s):
    if s == "default":
        return None
    try:
        return float(s)
    except ValueError:
        raise HushwordError("cutoff must be a number such as 0.95, or 'default'") from None


def run(args):
    fields = {}
    if args.model:
        if args.value is None:
            raise HushwordError(
                "give a value for %s: a cutoff such as 0.95, or 'default'" % args.model
            )
        fields = {"model": args.model, "value": parse_value(args.value)}
    with Device(args.port, args.baud) as dev:
        r = dev.command("cutoff", **fields)
    cutoffs = r.get("cutoffs", {})
    if args.json:
        print(json.dumps(cutoffs, sort_keys=True))
    else:
        for name in sorted(cutoffs):
            c = cutoffs[name]
            how = "set on this board" if c["set"] else "the model's own"
            if c.get("loaded") is False:
                how += " (used when it is the wake word: hushword wake-word %s)" % name
            print("%-12s %.3f  %s" % (name, c["cutoff"], how))
    return 0
