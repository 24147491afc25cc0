"""`hushword info`: firmware version, board, free RAM, models and privacy mode."""

import json

from host_tools.device import Device, add_port_arguments


def add_arguments(p):
    add_port_arguments(p)
    p.add_argument("--json", action="store_true", help="print the reply as one JSON object")


def run(args):
    with Device(args.port, args.baud) as dev:
        info = dev.command("info")
    for k in ("ev", "id", "ok"):
        info.pop(k, None)
    if args.json:
        print(json.dumps(info, sort_keys=True))
        return 0
    priv = info.get("privacy", {})
    models = info.get("models") or []
    if isinstance(models, dict):
        for err in models.get("errors", []):
            print("warning    %s" % err)
        models = models.get("models", [])

    def name(m):
        if not isinstance(m, dict):
            return str(m)
        if "cutoff" not in m:
            return m.get("name", "?")
        return "%s (cutoff %.2f%s)" % (
            m.get("name", "?"),
            m["cutoff"],
            ", set" if m.get("cutoff_set") else "",
        )

    names = ", ".join(name(m) for m in models)
    print("firmware   hushword %s (%s)" % (info.get("version"), info.get("platform")))
    print("board      %s" % info.get("board"))
    print(
        "RAM        %d bytes free, %d in use" % (info.get("mem_free", 0), info.get("mem_alloc", 0))
    )
    print("models     %s" % (names or "none (voice activity only)"))
    print(
        "privacy    %s  (forwarded %d bytes, debug %d bytes)"
        % (priv.get("mode"), priv.get("forwarded_bytes", 0), priv.get("debug_bytes", 0))
    )
    print("uptime     %.1f s of audio" % info.get("uptime_s", 0))
    return 0
