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
    add_port_arguments(p)
    p.add_argument("model", nargs="?", help="model to set, e.g. hey_jarvis, alexa or commands")
    p.add_argument(
        "value",
        nargs="?",
        help="new cutoff, 0.05-0.999 (higher: fewer false accepts, more misses), or 'default'",
    )
    p.add_argument("--json", action="store_true", help="print the reply as JSON")


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
            print(
                "%-12s %.3f  %s"
                % (name, c["cutoff"], "set on this board" if c["set"] else "the model's own")
            )
    return 0
