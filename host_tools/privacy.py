"""`hushword privacy`: show or switch whether audio may ever leave the board.

Talks to the board over its wired serial link only: that link (and the board's button) is the
only way to change the privacy mode; a network peer cannot.
"""

import argparse
import json
import sys

from host_tools.device import Device, add_port_arguments
from host_tools.errors import HushwordError


def _open(args):
    return Device(args.port, args.baud)


# --- CLI ---------------------------------------------------------------------------------------

_STATUS_KEYS = ("mode", "forwarded_bytes", "debug_bytes")


def add_arguments(p):
    p.description = (
        "Show or switch the board's privacy mode. 'never' (the factory default): no audio "
        "leaves the board. 'after-wake': after a wake word, that one utterance is forwarded "
        "to a Wyoming endpoint. 'allow-debug': the host may record debug audio over the wired "
        "link for a limited time."
    )
    add_port_arguments(p)
    p.add_argument("--json", action="store_true", help="print the board's status as JSON")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def add(name, help_):
        sp = sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".")
        sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the board's status as JSON")  # fmt: skip
        return sp

    add("status", "show mode, endpoint, counters and debug permission")
    add("never", "stop all forwarding now and revoke debug permission")
    sp = add("after-wake", "forward each utterance after a wake word to a Wyoming endpoint")
    sp.add_argument("--host", help="endpoint host or IP (default: the one set before)")
    sp.add_argument("--port-tcp", type=int, metavar="N", help="endpoint TCP port (default 10700)")
    sp.add_argument("--max-seconds", type=int, metavar="S",
                    help="longest utterance to forward (default 8, max 30)")  # fmt: skip
    sp = add("allow-debug", "allow debug audio over the wired link for SECONDS (max 600)")
    sp.add_argument(
        "seconds",
        type=int,
        nargs="?",
        default=60,
        metavar="SECONDS",
        help="how long the permission lasts, 1..600 (default 60)",
    )
    add("revoke-debug", "end debug permission (and any debug stream) now")
    add("factory-reset", "back to 'never', forget the endpoint, clear the audit counters")


def _request(args):
    a = args.action
    if a == "status":
        return {"action": "status"}
    if a == "never":
        return {"action": "set", "mode": "never"}
    if a == "after-wake":
        req = {"action": "set", "mode": "after_wake"}
        if args.host is not None:
            req["host"] = args.host
        if args.port_tcp is not None:
            req["port"] = args.port_tcp
        if args.max_seconds is not None:
            req["max_utterance_s"] = args.max_seconds
        return req
    if a == "allow-debug":
        return {"action": "allow_debug", "seconds": args.seconds}
    if a == "revoke-debug":
        return {"action": "revoke_debug"}
    if a == "factory-reset":
        return {"action": "factory_reset"}
    raise HushwordError(f"unknown action {a}")


def format_status(st):
    mode = st.get("mode")
    # As the command line spells it (`hushword privacy after-wake`); --json keeps the board's.
    lines = [f"mode: {mode.replace('_', '-') if isinstance(mode, str) else mode}"]
    if st.get("host"):
        lines.append(
            f"endpoint: {st['host']}:{st.get('port')} "
            f"(utterances up to {st.get('max_utterance_s')} s)"
        )
    lines.append(
        f"forwarded: {st.get('forwarded_bytes', 0)} bytes in "
        f"{st.get('forwarded_sessions', 0)} sessions (each opened after a wake word)"
    )
    lines.append(
        f"debug audio: {st.get('debug_bytes', 0)} bytes in {st.get('debug_sessions', 0)} streams"
    )
    left = st.get("debug_allowed_s", 0)
    lines.append(f"debug permission: {f'{left} s left' if left else 'none'}")
    if st.get("forwarding") or st.get("streaming"):
        lines.append("audio is leaving the board right now")
    if st.get("config_error") == "config_missing":
        lines.append("config: none saved yet (factory default: never)")
    elif st.get("config_error"):
        lines.append(f"config: {st['config_error']} at boot (failed closed)")
    return "\n".join(lines)


def run(args):
    dev = _open(args)
    try:
        reply = dev.command("privacy", **_request(args))
    except HushwordError as e:
        if "needs an endpoint" in str(e):  # the board's words are for its protocol
            raise HushwordError(
                "after-wake needs an endpoint: give --host (and --port-tcp, default 10700)"
            ) from None
        raise
    finally:
        dev.close()
    st = {k: v for k, v in reply.items() if k not in ("ev", "id", "ok")}
    for k in _STATUS_KEYS:
        if k not in st:
            raise HushwordError(f"the board's reply lacks '{k}': is its firmware current?")
    if args.json:
        print(json.dumps(st))
    else:
        print(format_status(st))
    sys.stdout.flush()
    return 0
