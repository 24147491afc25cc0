"""`hushword monitor`: the board's events, live; readable by default, JSON lines with --json."""

import json
import sys
import time

from host_tools.device import Device, add_port_arguments
from host_tools.errors import HushwordError


def add_arguments(p):
    add_port_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON object per event line")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")
    p.add_argument(
        "--until",
        metavar="EVENT",
        action="append",
        default=[],
        help="stop after an event of this kind (e.g. command); repeatable",
    )
    p.add_argument(
        "--count",
        type=int,
        metavar="N",
        help="stop after N events matching --until (default 1), or after N events of any "
        "kind without --until",
    )
    p.add_argument(
        "--levels", action="store_true", help="ask the board for a level event per second"
    )
    p.add_argument("--text", action="store_true", help="also show REPL/boot text lines")


def format_event(e):
    ev = e.get("ev", "?")
    t = e.get("t")
    ts = "%8.2fs" % t if isinstance(t, (int, float)) else " " * 9
    if ev in ("wake", "command"):
        return "%s  %-8s %-18s score %.2f" % (ts, ev.upper(), e.get("label"), e.get("score", 0))
    if ev == "vad":
        if e.get("active"):
            return "%s  speech   started" % ts
        return "%s  speech   ended after %.2f s, peak %s dBFS" % (
            ts,
            e.get("dur", 0),
            e.get("peak_dbfs"),
        )
    if ev == "level":
        bar = "#" * max(0, int((e.get("dbfs", -90) + 90) / 3))
        return "%s  level    %6.1f dBFS %s" % (ts, e.get("dbfs", -90), bar)
    if ev == "boot":
        m = e.get("models")
        names = [x.get("name") for x in m.get("models", [])] if isinstance(m, dict) else m
        return "%s  boot     hushword %s on %s; privacy %s; models: %s" % (
            ts,
            e.get("version"),
            e.get("board"),
            e.get("mode"),
            ", ".join(names or []) or "none",
        )
    if ev == "notice":
        return "%s  notice   %s" % (ts, e.get("msg", ""))
    if ev == "error":
        return "%s  ERROR    %s: %s" % (ts, e.get("code"), e.get("msg", ""))
    rest = {k: v for k, v in e.items() if k not in ("ev", "t")}
    return "%s  %-8s %s" % (ts, ev, " ".join("%s=%s" % kv for kv in sorted(rest.items())))


def run(args):
    until = set(args.until)
    if args.count is not None and args.count < 1:
        raise HushwordError("--count must be 1 or more")
    need = args.count or 1
    stop_on_any = args.count is not None and not until
    seen = 0
    with Device(args.port, args.baud) as dev:
        if args.levels:
            dev.command("levels", on=True)
        if not args.json:
            print("monitoring %s (Ctrl-C to stop)" % args.port, file=sys.stderr)
        start = time.monotonic()
        end = None if args.seconds is None else start + args.seconds
        hinted = probed = heard = False
        try:
            while end is None or time.monotonic() < end:
                if not heard and not probed and time.monotonic() - start > 2:
                    # Silence: an empty line is ignored by the app and makes a REPL show
                    # its prompt, so a stopped app can be told from a quiet one.
                    probed = True
                    dev.send(b"\r\n")
                if not hinted and probed and dev.at_prompt():
                    hinted = True
                    print(
                        "hushword: the board is at the MicroPython prompt, not running the app: "
                        "press Ctrl-D in a terminal, or run: mpremote connect %s reset"
                        % args.port,
                        file=sys.stderr,
                    )
                for item in dev.read_items():
                    heard = True
                    if item[0] == "event":
                        e = item[1]
                        print(json.dumps(e) if args.json else format_event(e), flush=True)
                        if stop_on_any or e.get("ev") in until:
                            seen += 1
                            if seen >= need:
                                return 0
                    elif item[0] == "text" and args.text and not args.json:
                        print("| " + item[1].decode("utf-8", "replace"), flush=True)
        except KeyboardInterrupt:
            return 0
        finally:
            if args.levels:
                try:
                    dev.command("levels", on=False)
                except Exception:
                    pass
    if until or stop_on_any:
        what = " or ".join(sorted(until)) if until else "any"
        print(
            "hushword: got %d of %d %s event(s) within %g s" % (seen, need, what, args.seconds),
            file=sys.stderr,
        )
        return 1
    return 0
