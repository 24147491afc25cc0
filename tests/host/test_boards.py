"""Board definitions: every shipped board validates; each rule catches its mistake."""

import copy
import json
import subprocess
import sys

import pytest

from host_tools import boards

REAL = [
    "esp32-inmp441",
    "esp32s3-inmp441",
    "esp32s3-box-3",
    "m5stack-atom-echo",
    "seeed-xiao-esp32s3-sense",
]


def test_all_boards_valid():
    names = boards.names()
    assert set(REAL) <= set(names)
    for name, errors in boards.check_all():
        assert errors == [], name


@pytest.mark.parametrize("name", ["m5stack-atom-echo", "seeed-xiao-esp32s3-sense"])
def test_pdm_boards_do_not_claim_a_mic(name):
    b = boards.load(name)
    assert b["mic"]["kind"] == "pdm" and "mic" not in b["capabilities"]
    assert "PDM" in b["needs_firmware"] and "Stock MicroPython has no PDM input" in b["notes"]


def _broken(name, edit):
    b = copy.deepcopy(boards.read(name))
    edit(b)
    return boards.validate(b, name)


@pytest.mark.parametrize(
    "edit, field, words",
    [
        (lambda b: b["mic"]["pins"].update(sck=6), "mic.pins.sck", "SPI flash"),
        (lambda b: b["mic"]["pins"].update(ws=12), "mic.pins.ws", "strapping"),
        (lambda b: b["mic"]["pins"].update(sck=35), "mic.pins.sck", "input-only"),
        (lambda b: b["mic"]["pins"].update(sd=24), "mic.pins.sd", "does not exist"),
        (lambda b: b["mic"].update(sample_rate=44100), "mic.sample_rate", "16000"),
        (lambda b: b["led"].update(pin=26), "led.pin", "already used"),
        (lambda b: b.update(chip="esp8266"), "chip", "not one of"),
        (lambda b: b.pop("pin_exceptions"), "led.pin", "pin_exceptions"),
        (lambda b: b.update(capabilities=["mic", "telepathy"]), "capabilities", "list"),
    ],
)
def test_each_rule_names_board_field_and_fix(edit, field, words):
    errors = _broken("esp32-inmp441", edit)
    assert errors, "expected an error"
    assert errors[0].startswith("board 'esp32-inmp441': %s:" % field), errors
    assert words in errors[0]


def test_octal_psram_pins_reserved_on_s3():
    errors = _broken("esp32s3-inmp441", lambda b: b["mic"]["pins"].update(sd=35))
    assert "SPI flash" in errors[0]


def test_pdm_mic_claim_rejected():
    errors = _broken("m5stack-atom-echo", lambda b: b["capabilities"].append("mic"))
    assert any("stock MicroPython has no PDM" in e for e in errors)


def test_unknown_board_is_one_line():
    with pytest.raises(boards.BoardError, match="no board 'nope'"):
        boards.load("nope")


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "host_tools", "boards", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_cli_lists_checks_and_json():
    r = _cli()
    assert r.returncode == 0 and "esp32s3-box-3" in r.stdout
    r = _cli("--check")
    assert r.returncode == 0, r.stderr
    r = _cli("--check", "--json")
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report and all(b["ok"] and not b["errors"] for b in report)
    assert {b["board"] for b in report} == set(boards.names())
    r = _cli("--json", "esp32-inmp441")
    assert json.loads(r.stdout)[0]["mic"]["pins"] == {"sck": 26, "ws": 25, "sd": 33}


def test_cli_check_fails_on_a_bad_board(tmp_path, monkeypatch):
    bad = tmp_path / "bad-board"
    bad.mkdir()
    b = boards.read("esp32-inmp441")
    b["name"] = "bad-board"
    b["mic"]["pins"]["sck"] = 7
    (bad / "board.json").write_text(json.dumps(b))
    monkeypatch.setattr(boards.paths, "BOARDS", tmp_path)
    from host_tools import cli

    assert cli.main(["boards", "--check"]) != 0
