# The simulated board's "ROM": runs under the real MicroPython unix interpreter, started by
# host_tools/sim.py, and plays the part of MicroPython's C REPL (shared/runtime/pyexec.c) on an
# ESP32: friendly REPL, raw REPL, raw-paste mode, boot.py/main.py on boot, soft reboot.
#
# This file is MicroPython code, never imported by CPython. stdin/stdout are pipes to the
# supervisor, which owns the pseudo-terminal. The supervisor turns Ctrl-C (0x03) into SIGINT
# (as the UART interrupt does on a real board) and restarts this process on soft reboot:
# exit code 42 = come back in the friendly REPL, 43 = come back in the raw REPL.
import builtins
import io
import os
import sys

_EXIT_FRIENDLY = 42
_EXIT_RAW = 43
_RAW_PASTE_WINDOW = 256

_out = sys.stdout.buffer
_in = sys.stdin.buffer
_print = builtins.print
# A pipe tells the supervisor whether code is running ("E") or the REPL is reading ("R"):
# Ctrl-C becomes SIGINT only while code runs; at a prompt it arrives as a plain byte.
try:
    _state_f = open(int(os.getenv("HUSHWORD_SIM_STATE_FD")), "wb")
except (OSError, TypeError, ValueError):
    _state_f = None


def _state(b):
    if _state_f is not None:
        _state_f.write(b)


def _w(s):
    if isinstance(s, str):
        s = s.encode()
    _out.write(s)


def _cooked_print(*args, sep=" ", end="\n", file=None):
    # An ESP32's stdout turns "\n" into "\r\n"; the unix port doesn't, so do it here.
    if file is not None and file is not sys.stdout:
        _print(*args, sep=sep, end=end, file=file)
        return
    s = sep.join([a if isinstance(a, str) else str(a) for a in args]) + end
    _w(s.replace("\n", "\r\n"))


def _print_exc(e):
    buf = io.StringIO()
    sys.print_exception(e, buf)
    _w(buf.getvalue().replace("\n", "\r\n"))


def _getc():
    """One byte of input; None on Ctrl-C (delivered as SIGINT); exits when the host is gone."""
    try:
        b = _in.read(1)
    except KeyboardInterrupt:
        return None
    if not b:
        sys.exit(0)
    if b[0] == 0x03:
        return None
    return b[0]


_globals = {"__name__": "__main__"}


def _exec(src, kind, fname="<stdin>"):
    """Compile and run source; print exceptions like the C REPL. Returns False on SystemExit."""
    _state(b"E")
    try:
        code = compile(src, fname, kind)
        exec(code, _globals)
    except SystemExit as e:  # sys.exit() / machine.soft_reset(): a soft reset, as on the board
        _state(b"R")
        if e.args and e.args[0] == _HARD_RESET:
            _hard_reset()
        _soft_reboot(False)
    except BaseException as e:  # KeyboardInterrupt included: back to the prompt
        _print_exc(e)
    finally:
        _state(b"R")
    return True


def _run_file(path):
    try:
        os.stat(path)
    except OSError:
        return True
    try:
        with open(path) as f:
            src = f.read()
    except OSError as e:
        _print_exc(e)
        return True
    return _exec(src, "exec", path)


def _banner():
    _w(
        "MicroPython %s on Hushword sim; ESP32 (simulated) with %s\r\n"
        'Type "help()" for more information.\r\n'
        % (".".join([str(v) for v in sys.implementation.version[:3]]), _board_name())
    )


def _board_name():
    try:
        import board

        return getattr(board, "NAME", "sim")
    except Exception:
        return "sim"


def _soft_reboot(raw):
    _w("MPY: soft reboot\r\n")
    sys.exit(_EXIT_RAW if raw else _EXIT_FRIENDLY)


_HARD_RESET = "machine.reset"


def _machine_reset():
    # machine.reset() on an ESP32 restarts the chip: boot.py and main.py run again, whichever
    # REPL asked for it (mpremote reset runs it from the raw REPL).
    raise SystemExit(_HARD_RESET)


class _Machine:
    """The unix port's machine module plus reset() (a built-in module takes no new names)."""

    def __init__(self, builtin):
        self._builtin = builtin

    def __getattr__(self, name):
        return getattr(self._builtin, name)

    @staticmethod
    def reset():
        _machine_reset()


def _hard_reset():
    _w("\r\nrst:0xc (SW_CPU_RESET)\r\n")
    sys.exit(_EXIT_FRIENDLY)


def raw_repl(banner=True):
    """Returns when the host leaves the raw REPL (Ctrl-B)."""
    if banner:
        _w("raw REPL; CTRL-B to exit\r\n")
    prompt = banner
    while True:
        if prompt:
            _w(">")
        prompt = True
        line = bytearray()
        while True:
            c = _getc()
            if c is None:  # Ctrl-C: clear the line
                line = bytearray()
                continue
            if c == 0x05 and len(line) == 0:  # Ctrl-E: maybe raw-paste ("\x05A\x01")
                a = _getc()
                b = _getc()
                if a == ord("A") and b == 0x01:
                    _w(
                        b"R\x01"
                        + bytes([_RAW_PASTE_WINDOW & 0xFF, _RAW_PASTE_WINDOW >> 8])
                        + b"\x01"
                    )
                    src = _raw_paste_read()
                    if src is not None:
                        _exec_raw(src)
                    break
                line.extend(bytes([c, a or 0, b or 0]))
                continue
            if c == 0x01:  # Ctrl-A: stay in raw REPL, fresh prompt
                _w("\r\nraw REPL; CTRL-B to exit\r\n")
                line = bytearray()
                break
            if c == 0x02:  # Ctrl-B: to the friendly REPL
                _w("\r\n")
                return
            if c == 0x04:
                if not line:
                    _soft_reboot(True)
                _w("OK")
                _exec_raw(bytes(line))
                break
            line.append(c)


def _raw_paste_read():
    buf = bytearray()
    got = 0
    while True:
        c = _getc()
        if c is None:
            return None
        if c == 0x04:
            _w(b"\x04")
            return bytes(buf)
        buf.append(c)
        got += 1
        if got == _RAW_PASTE_WINDOW:
            got = 0
            _w(b"\x01")


def _exec_raw(src):
    try:
        code = compile(src, "<stdin>", "exec")
    except BaseException as e:
        _w(b"\x04")
        _print_exc(e)
        _w(b"\x04")
        return
    err = None
    _state(b"E")
    reset = None
    try:
        exec(code, _globals)
    except SystemExit as e:
        reset = e
    except BaseException as e:
        err = e
    _state(b"R")
    if reset is not None:
        _w(b"\x04\x04")
        if reset.args and reset.args[0] == _HARD_RESET:
            _hard_reset()
        _soft_reboot(True)
    _w(b"\x04")
    if err is not None:
        _print_exc(err)
    _w(b"\x04")


def friendly_repl():
    """Returns when the host asks for the raw REPL (Ctrl-A)."""
    _banner()
    while True:
        src = _read_statement()
        if src is None:
            return
        if src.strip():
            _exec(src, "single")


def _read_statement():
    lines = []
    prompt = ">>> "
    while True:
        _w(prompt)
        line = bytearray()
        while True:
            c = _getc()
            if c is None:  # Ctrl-C
                _w("\r\n")
                return ""
            if c == 0x01:
                _w("\r\n")
                return None
            if c == 0x02:
                _w("\r\n")
                _banner()
                return ""
            if c == 0x04:
                if not line and not lines:
                    _w("\r\n")
                    _soft_reboot(False)
                continue
            if c in (0x08, 0x7F):
                if line:
                    line = line[:-1]
                    _w("\b \b")
                continue
            if c == 0x1B:  # swallow one escape sequence (arrow keys)
                _getc()
                while True:
                    e = _getc()
                    if e is None or 0x40 <= e <= 0x7E:
                        break
                continue
            if c == 13 or c == 10:
                _w("\r\n")
                break
            if c >= 32:
                line.append(c)
                _out.write(bytes([c]))
        text = line.decode()
        if not lines and not _continues(text):
            return text
        if lines and not text.strip():
            return "\n".join(lines) + "\n"
        lines.append(text)
        prompt = "... "


def _continues(text):
    t = text.rstrip()
    return t.endswith(":") or t.endswith("\\") or t.count("(") > t.count(")")


def main():
    builtins.print = _cooked_print
    mode = os.getenv("HUSHWORD_SIM_MODE") or "friendly"
    _run_file("boot.py")
    if mode == "friendly":
        _run_file("main.py")
    banner = True
    while True:
        try:
            if mode == "raw":
                raw_repl(banner)
                mode = "friendly"
            else:
                friendly_repl()
                mode = "raw"
            banner = True
        except KeyboardInterrupt:  # a late Ctrl-C outside a read: carry on quietly
            banner = False


class _Flash(os.VfsPosix):
    """The board's flash: a host directory. An ESP32's littlefs/FAT lists (name, type, inode,
    size); the unix port's VfsPosix leaves the size out, and mpremote then lists every file
    as 0 bytes."""

    def ilistdir(self, path="."):
        prefix = path.rstrip("/") + "/" if path not in ("", ".") else ""
        for e in super().ilistdir(path):
            size = self.stat(prefix + e[0])[6] if e[1] == 0x8000 else 0
            yield (e[0], e[1], e[2], size)


def _setup():
    root = os.getenv("HUSHWORD_SIM_FS")
    # The device filesystem: '/' is the board's flash, as on an ESP32. Note: the unix port's
    # VfsPosix rename() mangles absolute paths, so firmware renames with paths relative to '/'.
    import machine

    sys.modules["machine"] = _Machine(machine)
    os.mount(_Flash(root), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]


_setup()
try:
    main()
except KeyboardInterrupt:
    sys.exit(_EXIT_FRIENDLY)
