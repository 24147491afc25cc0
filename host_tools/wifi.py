"""`hushword wifi`: set or show the Wi-Fi a board uses to forward (after-wake mode only).

Setting Wi-Fi never opens the privacy gate: audio still leaves only in 'after-wake' mode,
which only `hushword privacy` (or the board's button) can switch on.
"""

import getpass
import json
import sys

from host_tools.device import Device, add_port_arguments
from host_tools.errors import HushwordError


def add_arguments(p):
    add_port_arguments(p, "serial port of the board")
    p.add_argument("--ssid", help="network name to join (omit to show the status)")
    p.add_argument("--password", help="network password (asked for if omitted)")
    p.add_argument("--json", action="store_true", help="print the status as JSON")


def run(args):
    fields = {}
    if args.ssid is not None:
        pw = args.password
        if pw is None:
            if not sys.stdin.isatty():
                raise HushwordError("give --password (no terminal to ask on)")
            pw = getpass.getpass("Wi-Fi password for %s: " % args.ssid)
        fields = {"ssid": args.ssid, "password": pw}
    with Device(args.port, args.baud) as dev:
        st = dev.command("wifi", timeout=10, **fields)
    st = {k: v for k, v in st.items() if k not in ("ev", "id", "ok")}
    if args.json:
        print(json.dumps(st, sort_keys=True))
    elif st.get("network") == "host":
        print("no Wi-Fi on this board: it uses the host's network (the sim)")
    elif st.get("network") == "none":
        print("no network on this board: it never forwards")
    else:
        print(
            "Wi-Fi %s%s"
            % (
                "connected" if st.get("connected") else "not connected",
                ", ip %s" % st["ip"] if st.get("ip") else "",
            )
        )
    return 0
