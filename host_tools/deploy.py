"""`hushword deploy`: upload the app (compiled to .mpy), the board's files and the models
through mpremote's serial transport, skipping files the board already has, then soft-reboot.

The manifest (/hushword_manifest.json, written last) lists every file with its SHA-256 and
size; main.py refuses to start a half-deployed app and names what is missing.
"""

import contextlib
import hashlib
import io
import json
import sys
import time

from host_tools.device import add_port_arguments
from host_tools.errors import HushwordError
from host_tools.progress import Progress

MANIFEST = "/hushword_manifest.json"
# How long a board may take to answer Ctrl-C/Ctrl-A with the raw REPL prompt.
RAW_REPL_TIMEOUT_S = 10


def add_arguments(p):
    add_port_arguments(p)
    p.add_argument(
        "--board",
        default=None,
        help="board definition in boards/ (default: the one on the board, else sim)",
    )
    p.add_argument("--force", action="store_true", help="upload every file, changed or not")
    p.add_argument("--no-reboot", action="store_true", help="don't soft-reboot afterwards")


def connect(port, baud=115200, soft_reset=False):
    """mpremote's serial transport in the raw REPL, or a one-line HushwordError."""
    try:
        from mpremote.transport_serial import SerialTransport, TransportError
    except ImportError:
        raise HushwordError("mpremote is missing: pip install mpremote") from None
    from host_tools.device import open_serial

    open_serial(port, baud).close()  # the same clear errors as every other command
    try:
        t = SerialTransport(port, baudrate=baud)
    except TransportError as e:
        raise HushwordError("cannot open %s: %s" % (port, e)) from None
    # mpremote reads a pseudo-terminal with blocking read(1)s and no timeout: a port that
    # never answers (a board in download mode, a silent sim) would hang it for ever. With a
    # read timeout its own deadlines apply.
    t.serial.timeout = 0.5
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints what it got on failure
            t.enter_raw_repl(soft_reset=soft_reset, timeout_overall=RAW_REPL_TIMEOUT_S)
    except TransportError:
        t.close()
        raise HushwordError(
            "no MicroPython REPL on %s: no raw REPL prompt within %d s (is the board in "
            "download mode, or is another program using the port?)" % (port, RAW_REPL_TIMEOUT_S)
        ) from None
    return t


def _remote_manifest(t):
    try:
        return json.loads(t.fs_readfile(MANIFEST)).get("files", {})
    except Exception:
        return {}


def _remote_board(t):
    try:
        return json.loads(t.fs_readfile("/board.json")).get("name")
    except Exception:
        return None


def _remote_platform(t):
    try:
        return t.exec("import sys; print(sys.platform)").decode().strip()
    except Exception:
        return None


def _check_platform(t, bdef, port):
    """Refuse a board definition made for another chip: its .mpy files would not even load
    (an ESP32 build on the sim dies at boot with 'incompatible .mpy arch')."""
    platform = _remote_platform(t)
    want = "linux" if bdef.get("chip") == "sim" else "esp32"
    if platform and platform != want:
        hint = "sim" if platform == "linux" else "the one for your board (hushword boards)"
        raise HushwordError(
            "board %s is for %s, but the board on %s runs MicroPython for %s: use --board %s"
            % (bdef["name"], bdef.get("chip"), port, platform, hint)
        )


def deploy(port, board=None, baud=115200, force=False, reboot=True, quiet=False):
    """Bring the board's app up to date; returns (uploaded, skipped) file counts."""
    from mpremote.transport import TransportError

    from host_tools import boards, image

    t = connect(port, baud)
    try:
        name = board or _remote_board(t) or "sim"
        try:
            bdef = boards.load(name)
        except Exception as e:
            raise HushwordError(str(e)) from None
        _check_platform(t, bdef, port)
        files = image.deploy_files(bdef)
        have = {} if force else _remote_manifest(t)
        manifest = files.pop()  # written last: the app trusts only complete deploys
        todo = []
        for path, data in files:
            entry = have.get(path)
            h = hashlib.sha256(data).hexdigest()
            old = entry.get("sha256") if isinstance(entry, dict) else entry
            if old == h and _exists(t, path, len(data)):
                continue
            todo.append((path, data))
        total = sum(len(d) for _, d in todo) or 1
        bar = Progress(total, "deploy", force=not quiet and sys.stderr.isatty())
        sent = 0
        made = set()
        t0 = time.monotonic()
        # Invalidate the manifest first: an interrupted deploy must not look complete.
        if todo and have:
            _rm(t, manifest[0])
        for path, data in todo:
            _mkdirs(t, path, made)
            base = sent
            t.fs_writefile(
                path, data, progress_callback=lambda d, n, b=base: bar.update(b + d, path)
            )
            sent += len(data)
            bar.update(sent, path)
            if path.endswith(".mpy"):
                _rm(t, path[:-4] + ".py")  # a stale source twin would shadow the .mpy
        if todo or not have:
            t.fs_writefile(manifest[0], manifest[1])
        dt = time.monotonic() - t0
        bar.close()
        if not quiet:
            print(
                "deployed %d file(s), %d bytes in %.1f s; %d unchanged; board %s"
                % (len(todo), sent, dt, len(files) - len(todo), name),
                file=sys.stderr,
            )
        if reboot:
            t.exit_raw_repl()
            t.serial.write(b"\x04")  # soft reboot in the friendly REPL runs main.py
            time.sleep(0.2)
        return len(todo), len(files) - len(todo)
    except TransportError as e:
        raise HushwordError(
            "deploy to %s failed: %s (run it again to resume)" % (port, e)
        ) from None
    except OSError as e:
        raise HushwordError("lost the port %s: %s (run it again to resume)" % (port, e)) from None
    finally:
        try:
            t.close()
        except Exception:
            pass


def _exists(t, path, size):
    try:
        return t.fs_stat(path).st_size == size
    except Exception:
        return False


def _rm(t, path):
    try:
        t.fs_rmfile(path)
    except Exception:
        pass


def _mkdirs(t, path, made):
    parts = path.strip("/").split("/")[:-1]
    cur = ""
    for p in parts:
        cur += "/" + p
        if cur in made:
            continue
        if not t.fs_exists(cur):
            t.fs_mkdir(cur)
        made.add(cur)


def run(args):
    deploy(args.port, args.board, args.baud, force=args.force, reboot=not args.no_reboot)
    return 0
