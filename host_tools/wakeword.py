"""`hushword wake-word`: show or choose the board's wake word (one of the deployed models)."""

import json

from host_tools.device import Device, add_port_arguments


def add_arguments(p):
    add_port_arguments(p)
    p.add_argument("name", nargs="?", help="wake model to use, e.g. hey_jarvis or alexa")
    p.add_argument("--json", action="store_true", help="print the reply as JSON")


def run(args):
    fields = {"name": args.name} if args.name else {}
    with Device(args.port, args.baud) as dev:
        r = dev.command("wake_word", timeout=20, **fields)
    r = {k: v for k, v in r.items() if k not in ("ev", "id", "ok")}
    if args.json:
        print(json.dumps(r, sort_keys=True))
    else:
        print("wake word: %s" % r.get("wake_word"))
    return 0
