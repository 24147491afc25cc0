"""A Hushword board on a serial port: commands with replies, and the stream of what it sends.

Used by every host command that talks to a running app (info, monitor, privacy, stream,
bench --port). Opening problems and silent boards become one-line HushwordErrors.
"""

import os
import time

from hushword import protocol

from host_tools.errors import HushwordError

REPLY_TIMEOUT_S = 3.0


def add_port_arguments(p, port_help="serial port of the board (or of `hushword sim`)"):
    """--port and --baud, as every command that talks to a running app takes them."""
    p.add_argument("--port", required=True, help=port_help)
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate (default 115200)")


def open_serial(port, baud=115200, timeout=0.05):
    try:
        import serial
    except ImportError:
        raise HushwordError("pyserial is missing: pip install pyserial") from None
    if os.path.isdir(port):
        raise HushwordError("cannot open %s: a directory, not a serial port" % port)
    try:
        return serial.Serial(port, baud, timeout=timeout, exclusive=True)
    except (OSError, serial.SerialException) as e:
        msg = str(e)
        if "exclusively lock" in msg or "Resource temporarily unavailable" in msg:
            msg = "the port is busy (another program has it open: close monitor/miniterm first)"
        elif "No such file" in msg or "could not open port" in msg:
            msg = "no such port (list ports with: python -m serial.tools.list_ports)"
        raise HushwordError("cannot open %s: %s" % (port, msg)) from None


class Device:
    """Commands and incoming items (events, audio frames, text) over one serial port."""

    def __init__(self, port, baud=115200, ser=None):
        self.port = port
        self.ser = ser if ser is not None else open_serial(port, baud)
        self.parser = protocol.FrameParser()
        self.pending = []  # items read while waiting for a reply
        self._id = int(time.time()) % 10000 * 10
        self._text_tail = b""  # the last text the board printed (prompts have no newline)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.ser.close()
        except Exception:
            pass

    def read_items(self):
        """Items available now (waits up to the port timeout for more)."""
        import serial

        out, self.pending = self.pending, []
        try:
            data = self.ser.read(max(1, self.ser.in_waiting or 1))
            if data and self.ser.in_waiting:
                data += self.ser.read(self.ser.in_waiting)
        except (OSError, serial.SerialException) as e:
            raise HushwordError("lost the port %s: %s" % (self.port, e)) from None
        if data:
            out += self.parser.feed(data)
            for it in out:
                if it[0] == "text":
                    self._text_tail = (self._text_tail + it[1])[-64:]
        return out

    def at_prompt(self):
        """True when what the board last printed is a MicroPython prompt: main.py is stopped
        (after mpremote/ampy, or a Ctrl-C on the line), the app is not running."""
        text = self._text_tail + bytes(self.parser._buf[-64:])
        return b">>>" in text or b"raw REPL" in text

    def items(self, seconds=None):
        """Yield items as they arrive, for `seconds` (None = until interrupted)."""
        end = None if seconds is None else time.monotonic() + seconds
        while end is None or time.monotonic() < end:
            yield from self.read_items()

    def send(self, data):
        import serial

        try:
            self.ser.write(data)
            self.ser.flush()
        except (OSError, serial.SerialException) as e:
            raise HushwordError("lost the port %s: %s" % (self.port, e)) from None

    def command(self, cmd, timeout=REPLY_TIMEOUT_S, **args):
        """Send one command; return its reply fields. A refused command raises HushwordError
        with the board's own message."""
        self._id += 1
        rid = self._id
        self.send(protocol.encode_command(cmd, id=rid, **args))
        deadline = time.monotonic() + timeout
        held = []
        while time.monotonic() < deadline:
            for item in self.read_items():
                if item[0] == "event" and item[1].get("ev") == "reply":
                    if item[1].get("id") == rid:
                        self.pending = held + self.pending
                        reply = dict(item[1])
                        if not reply.get("ok"):
                            raise HushwordError(reply.get("error") or "the board refused")
                        return reply
                    continue
                held.append(item)
        self.pending = held + self.pending
        if self.at_prompt():
            # mpremote/ampy (or a Ctrl-C on the line) stopped main.py; the app is installed.
            raise HushwordError(
                "no reply from %s to '%s': the board is at the MicroPython prompt, not running "
                "the app (press Ctrl-D in a terminal, or run: mpremote connect %s reset)"
                % (self.port, cmd, self.port)
            )
        raise HushwordError(
            "no reply from %s to '%s' within %.0f s (is the Hushword app running on it? "
            "try: hushword deploy --port %s)" % (self.port, cmd, timeout, self.port)
        )
