"""`hushword privacy` against the real gate behind a real pseudo-terminal.

``PtyBoard`` runs the firmware's gate and serial protocol (under CPython) in a thread on one
end of a pty, with a tone as its microphone; the CLI opens the other end like /dev/ttyUSB0.
The full sim board (MicroPython, app, mic) is exercised in tests/dut/.
"""

import json
import os
import struct
import threading
import time
import tty

import pytest
from hushword import config, protocol
from hushword.gate import Gate

from host_tools import cli

HOP = 320


class _Link:
    def __init__(self, fd):
        self.fd = fd
        self.lock = threading.Lock()

    def write(self, data):
        with self.lock:
            view = memoryview(bytes(data))
            while view:
                n = os.write(self.fd, view)
                view = view[n:]

    def event(self, ev, **fields):
        self.write(protocol.encode_event(ev, **fields))


class _Board:
    name = "pty"

    class led:
        @staticmethod
        def on():
            pass

        @staticmethod
        def off():
            pass

    button = None
    net = None


class PtyBoard:
    """The gate on a pty, paced at 20 ms hops like the real loop."""

    def __init__(self, cfg_path, realtime=True):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave
        self.link = _Link(self.master)
        self.gate = Gate(config.Store(str(cfg_path)), self.link, _Board())
        self.realtime = realtime
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _hop(self, n):
        # 440 Hz-ish square wave at -12 dBFS: easy to recognise in the recording.
        return b"".join(
            struct.pack("<h", 8000 if ((n * HOP + i) // 18) % 2 else -8000) for i in range(HOP)
        )

    def _run(self):
        import select

        reader = protocol.LineReader()
        n = 0
        t_next = time.monotonic()
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], max(0, t_next - time.monotonic()))
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                for obj, err in reader.feed(data):
                    self._serve(obj, err)
            if time.monotonic() >= t_next:
                self.gate.audio(self._hop(n))
                self.gate.tick()
                n += 1
                t_next += 0.02

    def _serve(self, obj, err):
        if err:
            self.link.event("error", code=err)
            return
        rid = obj.get("id")
        try:
            fields = self.gate.command(obj)
            if fields is None:
                raise KeyError(obj.get("cmd"))
            self.link.event("reply", id=rid, ok=True, **fields)
        except ValueError as e:
            self.link.event("reply", id=rid, ok=False, error=str(e))
        except KeyError:
            self.link.event("reply", id=rid, ok=False, error="unknown command")

    def close(self):
        """Stop the board and take its port away (as unplugging it would). Idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._t.join(2)
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def board(tmp_path):
    b = PtyBoard(tmp_path / "config.json")
    yield b
    b.close()


def privacy(board, capsys, *argv):
    rc = cli.main(["privacy", "--port", board.port, *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_status_json_contract(board, capsys):
    rc, out, _ = privacy(board, capsys, "status", "--json")
    assert rc == 0
    st = json.loads(out)
    assert st["mode"] == "never" and st["forwarded_bytes"] == 0 and st["debug_bytes"] == 0
    rc, out2, _ = privacy(board, capsys, "--json", "status")
    assert rc == 0 and json.loads(out2)["mode"] == "never"


def test_human_status(board, capsys):
    rc, out, _ = privacy(board, capsys, "status")
    assert rc == 0
    assert "mode: never" in out and "debug permission: none" in out
    # A board never configured is in its factory state, not at fault.
    assert "config: none saved yet (factory default: never)" in out


def test_switch_modes_and_factory_reset(board, capsys, tmp_path):
    rc, _, err = privacy(board, capsys, "after-wake")
    assert rc == 2 and "give --host (and --port-tcp" in err and err.count("\n") == 1
    rc, out, _ = privacy(
        board, capsys, "after-wake", "--host", "127.0.0.1", "--port-tcp", "10400", "--json"
    )
    assert rc == 0
    st = json.loads(out)
    assert (st["mode"], st["host"], st["port"]) == ("after_wake", "127.0.0.1", 10400)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["mode"] == "after_wake"
    rc, out, _ = privacy(board, capsys, "status")
    assert "mode: after-wake" in out and "endpoint: 127.0.0.1:10400" in out  # as typed
    rc, out, _ = privacy(board, capsys, "never", "--json")
    assert json.loads(out)["mode"] == "never"
    rc, out, _ = privacy(board, capsys, "allow-debug", "30", "--json")
    assert 29 <= json.loads(out)["debug_allowed_s"] <= 30
    rc, _, err = privacy(board, capsys, "allow-debug", "601")
    assert rc == 2 and "1..600" in err
    rc, out, _ = privacy(board, capsys, "factory-reset", "--json")
    st = json.loads(out)
    assert st["mode"] == "never" and st["host"] == "" and st["debug_allowed_s"] == 0


def test_no_board_on_port_is_one_clear_line(tmp_path, capsys):
    master, slave = os.openpty()  # a port where nothing answers
    try:
        rc = cli.main(["privacy", "--port", os.ttyname(slave), "status"])
    finally:
        os.close(master)
        os.close(slave)
    err = capsys.readouterr().err
    assert rc == 2 and "no reply" in err and err.count("\n") == 1
