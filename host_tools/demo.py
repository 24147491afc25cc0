"""`hushword demo`: start the simulated board, play the demo WAV through its microphone and
show what the firmware (real MicroPython) reports. No audio leaves the board meanwhile."""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from host_tools import paths
from host_tools.device import Device
from host_tools.errors import HushwordError
from host_tools.monitor import format_event

DEMO_WAV = paths.ROOT / "assets" / "demo.wav"


def add_arguments(p):
    p.add_argument(
        "--audio",
        type=Path,
        default=DEMO_WAV,
        metavar="FILE.wav",
        help="what to play (default: %s)" % DEMO_WAV.relative_to(paths.ROOT),
    )
    p.add_argument("--json", action="store_true", help="print events as JSON lines")
    p.add_argument(
        "--speed", type=float, default=1.0, help="playback pace relative to real time (default 1)"
    )


def start_sim(fs, audio=(), lead_in=1.5, speed=1.0, extra=(), fresh=True):
    """Start `hushword sim` as a child process; returns (process, port)."""
    cmd = [sys.executable, "-m", "host_tools", "sim", "--fs", str(fs)]
    cmd += ["--lead-in", str(lead_in), "--speed", str(speed)]
    if fresh:
        cmd.append("--fresh")
    for a in audio:
        cmd += ["--audio", str(a)]
    cmd += list(extra)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=str(paths.ROOT))
    port = proc.stdout.readline().strip()
    if not port:
        proc.wait()
        raise HushwordError("the simulated board did not start (exit code %s)" % proc.returncode)
    return proc, port


def run(args):
    if not args.audio.is_file():
        raise HushwordError("demo audio missing: %s" % args.audio)
    from host_tools import wavio

    seconds = len(wavio.read(args.audio)) / 16000
    with tempfile.TemporaryDirectory(prefix="hushword-demo-") as tmp:
        proc, port = start_sim(Path(tmp) / "fs", [args.audio], speed=args.speed)
        counts = {}
        try:
            with Device(port) as dev:
                info = dev.command("info", timeout=15)
                models = info.get("models") or {}
                names = (
                    [m.get("name") for m in models.get("models", [])]
                    if isinstance(models, dict)
                    else []
                )
                out = sys.stderr if args.json else sys.stdout
                print(
                    "Hushword demo: simulated board on %s, firmware %s under MicroPython"
                    % (port, info.get("version")),
                    file=out,
                )
                print(
                    "  models: %s" % (", ".join(names) or "none yet (voice activity only)"),
                    file=out,
                )
                print(
                    "  privacy mode: %s (no audio leaves the board)"
                    % info.get("privacy", {}).get("mode"),
                    file=out,
                )
                print(
                    "  playing %s (%.1f s) into the board's microphone...\n"
                    % (args.audio.name, seconds),
                    file=out,
                )
                # --speed 0 plays as fast as the board listens: stop once it has gone quiet.
                play_s = seconds / args.speed if args.speed else 1.0
                end = time.monotonic() + 1.5 + play_s + 2.0
                while time.monotonic() < end:
                    for item in dev.read_items():
                        if item[0] != "event" or item[1].get("ev") in ("reply", "led"):
                            continue
                        if not args.speed:
                            end = max(end, time.monotonic() + 2.0)
                        e = item[1]
                        counts[e["ev"]] = counts.get(e["ev"], 0) + 1
                        print(
                            __import__("json").dumps(e) if args.json else format_event(e),
                            flush=True,
                        )
                final = dev.command("info")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    priv = final.get("privacy", {})
    print(
        "\n%d wake word(s), %d command(s), %d utterance(s); audio sent anywhere: %d bytes"
        % (
            counts.get("wake", 0),
            counts.get("command", 0),
            counts.get("vad", 0) // 2,
            priv.get("forwarded_bytes", 0) + priv.get("debug_bytes", 0),
        ),
        file=sys.stderr if args.json else sys.stdout,
    )
    return 0
