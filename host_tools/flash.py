"""`hushword flash`: put MicroPython (or a `hushword image`) and the app on one or more boards.

Per port: detect the chip and flash size with esptool, refuse an image meant for another chip
or bigger than the flash, write it (esptool checks every write by MD5), then install the app
with `host_tools.deploy` unless the image already holds it. Several ``--port``s flash in
parallel, one thread each, with a progress line per step and a summary table at the end.

esptool runs as a subprocess (``python -m esptool``): each board gets its own process, so a
port that disappears mid-write fails that board alone, and esptool's console output of
parallel runs never interleaves.
"""

import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from host_tools import boards, image
from host_tools.errors import HushwordError

ESPTOOL_CHIP = {"ESP32": "esp32", "ESP32-S3": "esp32s3"}
TIMEOUT_S = 600  # a 16 MB image at 115200 baud needs minutes; a hung port must still end


class FlashError(HushwordError):
    pass


_print_lock = threading.Lock()


def _say(port, msg):
    with _print_lock:
        print("%-14s %s" % (port, msg), flush=True)


def _esptool(port, args, baud=None, before="default-reset", after="no-reset", stub=True):
    cmd = [sys.executable, "-m", "esptool", "--port", port, "--before", before, "--after", after]
    if baud:
        cmd += ["--baud", str(baud)]
    if not stub:
        cmd.append("--no-stub")
    try:
        r = subprocess.run(
            cmd + args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise FlashError("esptool timed out after %d s" % TIMEOUT_S) from None
    out = r.stdout + r.stderr
    if r.returncode:
        raise FlashError(_esptool_error(out))
    return out


def _esptool_error(out):
    """esptool's one meaningful line (its 'A fatal error occurred' or last line)."""
    m = re.search(r"(?:A fatal error occurred|ERROR)[^:]*:\s*(.+)", out)
    line = m.group(1) if m else (out.strip().splitlines() or ["esptool failed"])[-1]
    line = line.strip()
    if re.search(r"could not open port|No such file|FileNotFoundError", out):
        return "cannot open the port: %s" % line
    if re.search(r"Input/output error|device disconnected|returned no data|Errno 5", out):
        return "the port went away during the operation (%s)" % line
    return line


def detect(port, baud=None, before="default-reset", stub=True):
    """{"chip", "mac", "flash_size"} of the board on `port`."""
    out = _esptool(port, ["flash-id"], baud=baud, before=before, stub=stub)
    m = re.search(r"Connected to (\S+) on", out) or re.search(
        r"Detecting chip type\.\.\. (\S+)", out
    )
    if not m:
        raise FlashError("esptool found no chip")
    name = m.group(1)
    chip = ESPTOOL_CHIP.get(name)
    if chip is None:
        raise FlashError("found an %s; Hushword supports %s" % (name, ", ".join(ESPTOOL_CHIP)))
    size = re.search(r"Detected flash size: (\d+)MB", out)
    mac = re.search(r"MAC:\s+([0-9a-f:]{17})", out)
    return {
        "chip": chip,
        "chip_name": name,
        "mac": mac.group(1) if mac else "?",
        "flash_size": int(size.group(1)) << 20 if size else None,
    }


def _holds_app(firmware, board):
    """True if `firmware` is a `hushword image` (it reaches into the vfs partition)."""
    try:
        fs_offset, _ = image.fs_region(board)
    except HushwordError:
        return False
    return image.CHIP_BASE[board["chip"]] + len(firmware) > fs_offset


def flash_one(port, board, firmware, args, row=None):
    """Flash one board, filling the result `row`. Raises FlashError with a one-line reason."""
    t0 = time.monotonic()
    row = {} if row is None else row
    row.update(port=port, board=board["name"], chip="?", mac="?", bytes=0)
    if "://" not in port and not port.startswith(("socket:", "rfc2217:")):
        if not os.path.exists(port):
            raise FlashError(
                "no such port (is the board plugged in? list ports with: "
                "python -m serial.tools.list_ports)"
            )
    stub = not args.no_stub
    _say(port, "detecting chip ...")
    info = detect(port, before=args.before, stub=stub)
    row.update(chip=info["chip"], mac=info["mac"])
    if info["chip"] != board["chip"]:
        raise FlashError(
            "this is an %s but board '%s' is an %s; pick the right --board or port"
            % (info["chip_name"], board["name"], board["chip"])
        )
    flash_size = info["flash_size"] or board["flash_size"]
    if flash_size < board["flash_size"]:
        raise FlashError(
            "flash is %d MB but board '%s' expects %d MB; is it the right board?"
            % (flash_size >> 20, board["name"], board["flash_size"] >> 20)
        )
    _say(port, "%s, MAC %s, %d MB flash" % (info["chip_name"], info["mac"], flash_size >> 20))
    if args.erase:
        _say(port, "erasing flash ...")
        _esptool(port, ["erase-flash"], before=args.before, stub=stub)
    if firmware is not None:
        base = image.CHIP_BASE[board["chip"]]
        if base + len(firmware) > flash_size:
            raise FlashError(
                "image needs %d KB but the flash has %d KB"
                % ((base + len(firmware)) >> 10, flash_size >> 10)
            )
        _say(port, "writing %d KB at 0x%x ..." % (len(firmware) >> 10, base))
        tw = time.monotonic()
        try:
            out = _esptool(
                port,
                ["write-flash", "--flash-size", "keep", "0x%x" % base, args.firmware],
                baud=args.baud,
                before=args.before,
                after="no-reset" if args.no_reset else "hard-reset",
                stub=stub,
            )
        except FlashError as e:
            if "://" not in port and not os.path.exists(port):
                raise FlashError(
                    "the port disappeared during the write; the flash is incomplete: "
                    "reconnect the board and run the same command again"
                ) from None
            raise FlashError("write failed: %s; run the same command again" % e) from None
        if "Hash of data verified" not in out:
            raise FlashError("esptool did not confirm the written data; run again")
        row["bytes"] = len(firmware)
        row["write_s"] = time.monotonic() - tw
        _say(port, "written and verified (%.1f s)" % row["write_s"])
    if args.no_deploy:
        row["app"] = "skipped"
    elif firmware is not None and _holds_app(firmware, board):
        row["app"] = "in image"
    else:
        try:
            from host_tools.deploy import deploy
        except ImportError:
            raise FlashError(
                "app deploy is not available in this version; rerun with --no-deploy"
            ) from None
        _say(port, "deploying the app ...")
        deploy(port, board)
        row["app"] = "deployed"
    row["seconds"] = time.monotonic() - t0
    return row


def add_arguments(p):
    p.add_argument(
        "--port", action="append", required=True, help="serial port (repeat to flash several)"
    )
    p.add_argument("--board", required=True, help="board name (see 'hushword boards')")
    p.add_argument(
        "--firmware", help="MicroPython .bin (or a 'hushword image'); omit to keep what is there"
    )
    p.add_argument("--erase", action="store_true", help="erase the whole flash first")
    p.add_argument("--baud", type=int, default=460800, help="baud rate for writing (460800)")
    p.add_argument("--no-deploy", action="store_true", help="flash only; do not install the app")
    p.add_argument("--no-stub", action="store_true", help="talk to the ROM loader only")
    p.add_argument(
        "--before",
        default="default-reset",
        choices=["default-reset", "usb-reset", "no-reset"],
        help="how to enter the ROM loader (esptool --before)",
    )
    p.add_argument("--no-reset", action="store_true", help="stay in the loader after writing")
    p.add_argument("--json", action="store_true", help="print the summary as JSON lines")


def run(args):
    board = boards.load(args.board)
    if board["chip"] not in image.CHIP_BASE:
        raise FlashError("board '%s' is simulated: use 'hushword deploy' instead" % args.board)
    firmware = None
    if args.firmware:
        try:
            firmware = Path(args.firmware).read_bytes()
        except OSError as e:
            raise FlashError("cannot read %s: %s" % (args.firmware, e.strerror)) from None
        image.check_firmware(firmware, board, what=os.path.basename(args.firmware))
    ports = list(dict.fromkeys(args.port))

    def one(port):
        row = {}
        try:
            flash_one(port, board, firmware, args, row)
            row["result"] = "ok"
        except HushwordError as e:
            row.update(port=port, result="FAILED", error=str(e))
            if len(ports) > 1:  # one port: the error line at the end says it once
                _say(port, "FAILED: %s" % e)
        return row

    with ThreadPoolExecutor(max_workers=len(ports)) as pool:
        rows = list(pool.map(one, ports))
    failed = [r for r in rows if r["result"] != "ok"]
    if args.json:
        import json

        for r in rows:
            print(json.dumps(r))
    elif len(rows) > 1 or not failed:
        _summary(rows)
    if failed:
        if len(failed) == 1:
            raise FlashError("%s: %s" % (failed[0]["port"], failed[0]["error"]))
        raise FlashError(
            "%d of %d boards failed; run again for those ports" % (len(failed), len(rows))
        )
    return 0


def _summary(rows):
    table = [("PORT", "CHIP", "MAC", "WRITTEN", "RATE", "APP", "RESULT")]
    for r in rows:
        rate = ""
        if r.get("write_s"):
            rate = "%.0f kbit/s" % (r["bytes"] * 8 / 1000 / r["write_s"])
        table.append(
            (
                r["port"],
                r.get("chip", "?"),
                r.get("mac", "?"),
                "%d KB" % (r.get("bytes", 0) >> 10),
                rate,
                r.get("app", "-"),
                r["result"] if r["result"] == "ok" else "FAILED: " + r.get("error", ""),
            )
        )
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    with _print_lock:
        for t in table:
            print("  ".join(c.ljust(w) for c, w in zip(t, widths)).rstrip())
