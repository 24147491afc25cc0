"""The privacy gate end to end: the real sim board (firmware in MicroPython on a pty, UART paced
at 115200 baud), the real `hushword privacy` / `hushword stream` commands, and a real Wyoming
server on 127.0.0.1 for forwarding."""

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial
from hushword import protocol

from host_tools import cli, paths

BAUD = 115200


class Sim:
    def __init__(self, fs, fresh=False, baud=BAUD):
        cmd = [sys.executable, "-m", "host_tools", "sim", "--fs", str(fs), "--baud", str(baud)]
        if fresh:
            cmd.append("--fresh")
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=paths.ROOT, text=True
        )
        self.port = self.proc.stdout.readline().strip()
        if not self.port:
            raise RuntimeError("sim did not start: " + self.proc.stderr.read()[-500:])
        self.boot = self._wait_boot()

    def _wait_boot(self, timeout=15):
        """Events up to and including the app's boot event."""
        s = serial.Serial(self.port, BAUD, timeout=0.1)
        p = protocol.FrameParser()
        got = []
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                for item in p.feed(s.read(4096)):
                    if item[0] == "event":
                        got.append(item[1])
                        if item[1]["ev"] == "boot":
                            return got
        finally:
            s.close()
        raise RuntimeError("no boot event from the sim")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def fs(tmp_path):
    return tmp_path / "fs"


def _cli(capsys, *argv):
    rc = cli.main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _status(capsys, port):
    rc, out, err = _cli(capsys, "privacy", "--port", port, "status", "--json")
    assert rc == 0, err
    return json.loads(out)


def _listen(port, seconds):
    s = serial.Serial(port, BAUD, timeout=0.1)
    p = protocol.FrameParser()
    items = []
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            items += p.feed(s.read(4096))
    finally:
        s.close()
    return items, p.corrupt


def test_fresh_board_is_never_and_debug_stream_is_lossless(fs, capsys, tmp_path):
    sim = Sim(fs, fresh=True)
    try:
        assert any(e.get("code") == "config_missing" for e in sim.boot)
        # Everything fits the board's heap: no model or gate failed to load.
        assert not [e for e in sim.boot if e["ev"] == "error"], sim.boot
        boot = next(e for e in sim.boot if e["ev"] == "boot")
        assert boot["mode"] == "never"
        st = _status(capsys, sim.port)
        assert (st["mode"], st["forwarded_bytes"], st["debug_bytes"]) == ("never", 0, 0)
        # The app runs its mic loop; nothing but text and events comes out.
        items, corrupt = _listen(sim.port, 1.5)
        assert not [i for i in items if i[0] == "frame"] and corrupt == 0
        wav = tmp_path / "rec.wav"
        rc, _, err = _cli(capsys, "stream", "--port", sim.port, "--quiet", "-o", str(wav))
        assert rc == 2 and "permission" in err
        rc, out, _ = _cli(capsys, "privacy", "--port", sim.port, "allow-debug", "20", "--json")
        assert rc == 0 and json.loads(out)["debug_allowed_s"] >= 19
        rc, out, err = _cli(
            capsys, "stream", "--port", sim.port, "--quiet", "--seconds", "3", "--json",
            "-o", str(wav),
        )  # fmt: skip
        assert rc == 0, err
        summary = json.loads(out)
        # IMA-ADPCM at 115200 baud: every frame arrives, intact.
        assert summary["lost"] == 0 and summary["corrupt"] == 0, summary
        assert summary["frames"] >= 148 and summary["ended"] == "done"
        st = _status(capsys, sim.port)
        assert st["debug_bytes"] > 0 and st["debug_sessions"] == 1
        assert st["forwarded_bytes"] == 0
    finally:
        sim.stop()


def test_mode_persists_across_restart_and_corrupt_config_fails_closed(fs, capsys):
    sim = Sim(fs, fresh=True)
    try:
        rc, _out, err = _cli(
            capsys, "privacy", "--port", sim.port, "after-wake", "--host", "127.0.0.1",
            "--port-tcp", "10777", "--json",
        )  # fmt: skip
        assert rc == 0, err
    finally:
        sim.stop()
    saved = json.loads((fs / "config.json").read_text())
    assert saved["mode"] == "after_wake"
    sim = Sim(fs)  # process restart, same flash
    try:
        boot = next(e for e in sim.boot if e["ev"] == "boot")
        assert boot["mode"] == "after_wake"
        st = _status(capsys, sim.port)
        assert (st["mode"], st["host"], st["port"]) == ("after_wake", "127.0.0.1", 10777)
    finally:
        sim.stop()
    # A half-written file (power cut without the atomic rename) must read as "never".
    data = (fs / "config.json").read_bytes()
    (fs / "config.json").write_bytes(data[: len(data) // 2])
    sim = Sim(fs)
    try:
        assert any(e.get("code") == "config_corrupt" for e in sim.boot)
        assert _status(capsys, sim.port)["mode"] == "never"
    finally:
        sim.stop()


def test_soft_reboot_keeps_mode(fs, capsys):
    sim = Sim(fs, fresh=True)
    try:
        rc, _, err = _cli(
            capsys, "privacy", "--port", sim.port, "after-wake", "--host", "10.1.2.3", "--json"
        )
        assert rc == 0, err
        s = serial.Serial(sim.port, BAUD, timeout=0.1)
        try:
            s.write(b"\x03")  # Ctrl-C: stop the app, friendly REPL
            time.sleep(0.5)
            s.write(b"\x04")  # Ctrl-D: soft reboot, main.py runs the app again
            p = protocol.FrameParser()
            end = time.monotonic() + 15
            boot = None
            while time.monotonic() < end and boot is None:
                for item in p.feed(s.read(4096)):
                    if item[0] == "event" and item[1]["ev"] == "boot":
                        boot = item[1]
        finally:
            s.close()
        assert boot is not None, "no boot event after soft reboot"
        assert boot["mode"] == "after_wake"
        assert _status(capsys, sim.port)["host"] == "10.1.2.3"
    finally:
        sim.stop()


def _wake_model_present():
    return any(Path(paths.MODELS).glob("*.bin")) if Path(paths.MODELS).is_dir() else False


# The demo recording: "hey jarvis, lights on ..." by voices held out of training.
WAKE_WAV = os.environ.get("HUSHWORD_WAKE_WAV") or str(paths.ROOT / "assets" / "demo.wav")


@pytest.fixture
def sink():
    """A real Wyoming server on 127.0.0.1 (tests/firmware/test_forward.WyomingSink)."""
    if not _wake_model_present():
        pytest.skip("no wake word model in firmware/models: the sim cannot hear a wake word yet")
    sys.path.insert(0, str(paths.ROOT / "tests" / "firmware"))
    from test_forward import WyomingSink

    s = WyomingSink()
    yield s
    s.close()


@contextlib.contextmanager
def _forwarding_sim(fs, sink, max_utterance_s, host="127.0.0.1"):
    """A fresh sim whose saved config forwards after a wake word to ``sink``, hearing
    WAKE_WAV; yields its port."""
    Sim(fs, fresh=True).stop()
    cfg = {"mode": "after_wake", "host": host, "port": sink.port,
           "max_utterance_s": max_utterance_s, "counters": {}}  # fmt: skip
    (fs / "config.json").write_text(json.dumps(cfg))
    cmd = [sys.executable, "-m", "host_tools", "sim", "--fs", str(fs), "--audio", WAKE_WAV]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=paths.ROOT, text=True)
    try:
        yield p.stdout.readline().strip()
    finally:
        p.terminate()
        p.wait(10)
        p.stdout.close()


def test_after_wake_forwards_to_a_real_wyoming_server(fs, capsys, sink):
    with _forwarding_sim(fs, sink, max_utterance_s=8) as port:
        assert sink.done.wait(30), "the Wyoming server never saw audio-stop"
        st = _status(capsys, port)
    types = [e.type for e in sink.events]
    assert types[:2] == ["detection", "audio-start"] and types[-1] == "audio-stop"
    assert st["forwarded_sessions"] >= 1 and st["forwarded_bytes"] > 0


def test_ctrl_c_while_forwarding_closes_the_session_and_keeps_the_record(fs, capsys, sink):
    # Ctrl-C (or a stray 0x03 on the line) stops the app at the REPL. The open Wyoming session
    # must end there and then, with audio-stop, and the counters must be on flash.
    with _forwarding_sim(fs, sink, max_utterance_s=30) as port:
        s = serial.Serial(port, BAUD, timeout=0.1)
        parser = protocol.FrameParser()
        events = []
        end = time.monotonic() + 30
        while time.monotonic() < end and not any(
            e.get("ev") == "gate" and e.get("state") == "open" for e in events
        ):
            events += [i[1] for i in parser.feed(s.read(4096)) if i[0] == "event"]
        assert events and events[-1].get("state") == "open", "no wake word opened the gate"
        assert not sink.done.is_set()  # 30 s utterances: still open when we interrupt
        s.write(b"\x03")
        assert sink.done.wait(5), "Ctrl-C left the Wyoming session open (no audio-stop)"
        end = time.monotonic() + 5
        close = []
        while time.monotonic() < end and not close:
            got = [i[1] for i in parser.feed(s.read(4096)) if i[0] == "event"]
            close += [e for e in got if e.get("ev") == "gate" and e.get("state") == "close"]
        assert close and close[0]["reason"] == "stopped", close
        s.write(b"\x04")  # soft reboot: the app starts again from its files on flash
        s.close()
        time.sleep(2)
        st = _status(capsys, port)
    assert st["forwarded_sessions"] >= 1
    assert st["forwarded_bytes"] >= close[0]["bytes"] > 0


def test_endpoint_by_host_name_is_looked_up_when_quiet_then_forwards(fs, capsys, sink):
    # MicroPython looks names up by blocking, so the board does it at boot or in a quiet
    # moment, never at a wake word; after that the name works like an address.
    with _forwarding_sim(fs, sink, max_utterance_s=8, host="localhost") as port:
        items, _ = _listen(port, 14)
    events = [i[1] for i in items if i[0] == "event"]
    assert {"ev": "notice", "msg": "endpoint localhost looked up"} in events
    opened = [e for e in events if e.get("ev") == "gate" and e.get("state") == "open"]
    assert opened and opened[0]["host"] == "localhost"
    assert sink.done.is_set()
    assert [e.type for e in sink.events][:2] == ["detection", "audio-start"]
