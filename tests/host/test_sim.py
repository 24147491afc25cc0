"""The simulated board behaves like an ESP32 running MicroPython on a serial port: mpremote,
ampy and the hushword CLI work against it, through a real pseudo-terminal."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from host_tools import cli
from host_tools.demo import start_sim

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    fs = tmp_path_factory.mktemp("sim") / "fs"
    proc, port = start_sim(fs, lead_in=0)
    yield port, fs
    proc.terminate()
    proc.wait(timeout=10)


def _run(*cmd, timeout=120):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_port_is_a_real_tty(sim):
    port, _ = sim
    assert os.isatty(os.open(port, os.O_RDWR | os.O_NOCTTY))


def test_mpremote_fs_and_exec(sim, tmp_path):
    port, fs = sim
    src = tmp_path / "hello.py"
    src.write_text("GREETING = 'hi from the sim'\n")
    mp = str(BIN / "mpremote")
    _run(mp, "connect", port, "fs", "cp", str(src), ":hello.py")
    listing = _run(mp, "connect", port, "fs", "ls")
    size = len(src.read_bytes())  # listed with its size, as an ESP32's filesystem does
    assert any(line.split() == [str(size), "hello.py"] for line in listing.splitlines()), listing
    assert "hi from the sim" in _run(mp, "connect", port, "fs", "cat", ":hello.py")
    out = _run(mp, "connect", port, "exec", "import hello; print(hello.GREETING * 2)")
    assert "hi from the simhi from the sim" in out
    back = tmp_path / "back.py"
    _run(mp, "connect", port, "fs", "cp", ":hello.py", str(back))
    assert back.read_text() == src.read_text()
    assert (fs / "hello.py").read_text() == src.read_text()  # persisted in the board's flash


def test_ampy_ls_put_get(sim, tmp_path):
    port, _ = sim
    src = tmp_path / "data.txt"
    src.write_bytes(bytes(range(32, 127)) * 20)
    ampy = str(BIN / "ampy")
    _run(ampy, "-p", port, "put", str(src), "data.txt")
    assert "/data.txt" in _run(ampy, "-p", port, "ls")
    back = tmp_path / "back.txt"
    _run(ampy, "-p", port, "get", "data.txt", str(back))
    assert back.read_bytes() == src.read_bytes()


def test_app_runs_again_after_tools_leave(sim):
    # mpremote/ampy interrupt main.py; a soft reboot (Ctrl-D at the friendly REPL) restarts it.
    port, _ = sim
    with serial.Serial(port, 115200, timeout=0.2) as s:
        s.write(b"\r\x03\x02")
        time.sleep(0.3)
        s.reset_input_buffer()
        s.write(b"\x04")
        data = b""
        end = time.monotonic() + 15
        while b'"ev": "boot"' not in data and time.monotonic() < end:
            data += s.read(4096)
        assert b"soft reboot" in data and b'"ev": "boot"' in data


def test_stopped_app_is_named_and_mpremote_reset_restarts_it(sim, capsys):
    # After mpremote/ampy (or a Ctrl-C on the line) the app is installed but stopped at the
    # prompt: the error says so, not "deploy". `mpremote reset` (machine.reset()) brings it back.
    port, _ = sim
    mp = str(BIN / "mpremote")
    _run(mp, "connect", port, "fs", "ls")
    assert cli.main(["monitor", "--port", port, "--seconds", "4"]) == 0
    assert "at the MicroPython prompt" in capsys.readouterr().err
    assert cli.main(["info", "--port", port]) == 2
    err = capsys.readouterr().err
    assert "at the MicroPython prompt" in err and "deploy" not in err
    _run(mp, "connect", port, "reset")
    end = time.monotonic() + 20
    while cli.main(["info", "--port", port, "--json"]) != 0:
        assert time.monotonic() < end, "the app did not come back after machine.reset()"
    assert json.loads(capsys.readouterr().out)["board"] == "sim"


def test_info_and_deploy_through_the_cli(sim, capsys):
    port, fs = sim
    assert cli.main(["deploy", "--port", port]) == 0
    manifest = json.loads((fs / "hushword_manifest.json").read_text())
    assert "/hushword/app.mpy" in manifest["files"]
    assert not (fs / "hushword" / "app.py").exists()  # the stale source twin is gone
    capsys.readouterr()
    assert cli.main(["deploy", "--port", port]) == 0
    assert "0 file(s)" in capsys.readouterr().err  # nothing changed, nothing sent
    time.sleep(1.0)
    assert cli.main(["info", "--port", port, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["board"] == "sim" and info["privacy"]["mode"] == "never"


def test_deploy_refuses_a_board_definition_for_another_chip(sim, capsys):
    port, fs = sim
    before = (fs / "board.json").read_text()
    assert cli.main(["deploy", "--port", port, "--board", "esp32-inmp441"]) == 2
    err = capsys.readouterr().err
    assert "runs MicroPython for linux: use --board sim" in err and "\n" not in err.strip()
    assert (fs / "board.json").read_text() == before  # nothing was uploaded
    assert cli.main(["deploy", "--port", port]) == 0  # the app is started again
    time.sleep(1.0)


def test_half_deployed_app_says_what_is_missing(sim):
    port, fs = sim
    assert cli.main(["deploy", "--port", port, "--no-reboot"]) == 0
    (fs / "hushword" / "vad.mpy").unlink()
    with serial.Serial(port, 115200, timeout=0.2) as s:
        s.write(b"\r\x02\x04")  # friendly REPL, soft reboot: main.py runs
        data = b""
        end = time.monotonic() + 10
        while b"incomplete" not in data and time.monotonic() < end:
            data += s.read(4096)
    assert b'"code": "incomplete"' in data and b"/hushword/vad.mpy" in data
    assert cli.main(["deploy", "--port", port]) == 0  # a retry completes the deploy
    time.sleep(1.0)
    assert cli.main(["info", "--port", port]) == 0


def test_monitor_stops_on_count_and_says_when_it_timed_out(sim, capsys):
    port, _ = sim
    t0 = time.monotonic()
    assert (
        cli.main(["monitor", "--port", port, "--levels", "--count", "2", "--seconds", "20"]) == 0
    )
    assert time.monotonic() - t0 < 10  # two level events, one a second
    assert capsys.readouterr().out.count("level") == 2
    assert cli.main(["monitor", "--port", port, "--until", "nosuchevent", "--seconds", "1"]) == 1
    assert "got 0 of 1 nosuchevent event(s) within 1 s" in capsys.readouterr().err


def test_bad_ports_give_one_line_errors(tmp_path, capsys):
    assert cli.main(["info", "--port", str(tmp_path / "nope")]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("hushword: error: cannot open") and "\n" not in err
    assert cli.main(["info", "--port", str(tmp_path)]) == 2
    assert "a directory, not a serial port" in capsys.readouterr().err
    # A busy port: another program holds it.
    master, slave = os.openpty()
    try:
        with serial.Serial(os.ttyname(slave), exclusive=True):
            for cmd in (["info"], ["deploy"], ["monitor", "--seconds", "1"], ["privacy"]):
                args = cmd[:1] + ["--port", os.ttyname(slave)] + cmd[1:]
                if cmd == ["privacy"]:
                    args.append("status")
                assert cli.main(args) != 0
                err = capsys.readouterr().err.strip()
                assert "port is busy" in err and "\n" not in err, err
    finally:
        os.close(master)
        os.close(slave)
    # A silent port: a terminal with nothing behind it (a board in download mode). deploy
    # goes through mpremote, which read ptys without a timeout and hung here for ever.
    master, slave = os.openpty()
    try:
        assert cli.main(["info", "--port", os.ttyname(slave)]) != 0
        err = capsys.readouterr().err.strip()
        assert "no reply" in err and "\n" not in err
        from host_tools import deploy

        old, deploy.RAW_REPL_TIMEOUT_S = deploy.RAW_REPL_TIMEOUT_S, 2
        try:
            t0 = time.monotonic()
            assert cli.main(["deploy", "--port", os.ttyname(slave)]) == 2
            assert time.monotonic() - t0 < 10
        finally:
            deploy.RAW_REPL_TIMEOUT_S = old
        cap = capsys.readouterr()
        assert "no MicroPython REPL" in cap.err and "\n" not in cap.err.strip()
        assert cap.out == ""  # no stray b'' from mpremote
    finally:
        os.close(master)
        os.close(slave)


def test_baud_throttles_like_a_uart(tmp_path):
    proc, port = start_sim(tmp_path / "fs", lead_in=0, extra=["--baud", "9600"])
    try:
        with serial.Serial(port, 9600, timeout=0.1) as s:
            time.sleep(1.5)
            s.write(b"\r\x03")
            time.sleep(0.5)
            s.reset_input_buffer()
            s.write(b"print('x' * 1900)\r")
            t0 = time.monotonic()
            got = b""
            while got.count(b"x") < 1900 and time.monotonic() - t0 < 10:
                got += s.read(4096)
            dt = time.monotonic() - t0
        assert got.count(b"x") >= 1900
        assert dt > 1.5  # 1900 bytes at 960 bytes/s take about 2 s; unthrottled: milliseconds
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_hears_both_wakes_and_commands_and_sends_nothing(capsys):
    # `make demo`'s main job, at --speed 0 (as fast as the board listens).
    assert cli.main(["demo", "--speed", "0", "--json"]) == 0
    cap = capsys.readouterr()
    events = [json.loads(line) for line in cap.out.splitlines() if line.startswith("{")]
    assert [e["label"] for e in events if e["ev"] == "wake"] == ["hey_jarvis", "hey_jarvis"]
    assert [e["label"] for e in events if e["ev"] == "command"] == [
        "lights_on",
        "what_time_is_it",
    ]
    assert "audio sent anywhere: 0 bytes" in cap.err
