"""The running app over its serial link: the same file runs against the sim (CI) and a real
board (--port). Sim-only checks skip on hardware with a reason."""

import pytest


def test_info_reports_firmware_board_memory_and_privacy(board):
    info = board.command("info")
    assert info["ok"] and info["version"]
    assert info["mem_free"] > 0
    assert info["privacy"]["mode"] in ("never", "after_wake")
    assert not info["models"].get("errors")  # the wake word and command models both fit


def test_garbage_gets_error_events_and_the_board_keeps_listening(board):
    before = board.command("info")["uptime_s"]
    board.dut.write(b"\xff\xfe random noise\n")
    assert board.event("error")["code"] == "not_a_command"
    board.dut.write(b"@hw {not json\n")
    assert board.event("error")["code"] == "bad_json"
    board.dut.write(b"@hw " + b"x" * 2000 + b"\n")
    assert board.event("error")["code"] == "line_too_long"
    reply = board.dut.write(b'@hw {"cmd": "no_such_thing", "id": 5}\n')
    reply = board.event("reply", id=5)
    assert reply["ok"] is False and "unknown command" in reply["error"]
    reply = board.command("levels", on="yes")
    assert reply["ok"] is False
    after = board.command("info")["uptime_s"]
    assert after > before  # audio kept flowing through the pipeline meanwhile


def test_ctrl_c_stops_the_app_and_ctrl_d_reboots_it(board, on_sim):
    if not on_sim:
        pytest.skip("reboots the board; run by hand on hardware")
    board.dut.write(b"\x03")
    board.dut.expect("KeyboardInterrupt", timeout=5)
    board.dut.expect(">>> ", timeout=5)
    board.dut.write(b"1+2\r")
    board.dut.expect("3", timeout=5)
    board.dut.write(b"\x04")
    board.dut.expect("soft reboot", timeout=5)
    boot = board.event("boot", timeout=15)
    assert boot["mode"] in ("never", "after_wake")
    assert board.command("ping")["pong"] is True


def test_wifi_command(board, on_sim):
    reply = board.command("wifi")
    if on_sim:
        # Status works (the host's network); setting one is refused.
        assert reply["ok"] is True and reply["network"] == "host" and reply["connected"]
        reply = board.command("wifi", ssid="x", password="y")
        assert reply["ok"] is False and "no Wi-Fi" in reply["error"]
    else:
        assert reply["ok"] is True and "connected" in reply
        assert "password" not in reply


def test_choose_the_wake_word(board, on_sim):
    if not on_sim:
        pytest.skip("reboots the board; run by hand on hardware")
    now = board.command("wake_word", timeout=20)
    assert now["ok"] and now["wake_word"]
    bad = board.command("wake_word", name="no_such_word")
    assert bad["ok"] is False and "no model" in bad["error"]
    target = "alexa" if now["wake_word"] != "alexa" else "hey_jarvis"
    other = board.command("wake_word", name=target, timeout=30)
    if not other["ok"]:
        pytest.skip("the board has no %s model" % target)
    assert other["rebooting"]
    boot = board.event("boot", timeout=30)  # saved, then a soft reset loads it
    assert target in [m["name"] for m in boot["models"]["models"]]
    assert not boot["models"].get("errors")
    back = board.command("wake_word", name=now["wake_word"], timeout=30)
    assert back["ok"]
    boot = board.event("boot", timeout=30)
    assert now["wake_word"] in [m["name"] for m in boot["models"]["models"]]
