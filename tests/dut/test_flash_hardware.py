"""`hushword flash` on a real board: needs ``--port`` (pytest-embedded's option) and a board.

    HUSHWORD_BOARD=esp32-inmp441 HUSHWORD_FIRMWARE=micropython.bin \\
        pytest tests/dut/test_flash_hardware.py --port /dev/ttyUSB0
"""

import os

import pytest

from host_tools import boards, cli, flash


def _port(request):
    try:
        port = request.config.getoption("port")
    except ValueError:
        port = None
    if not port:
        pytest.skip("needs a real board: run with --port /dev/ttyUSB0 (and HUSHWORD_BOARD)")
    return port


def test_detects_a_supported_chip(request):
    port = _port(request)
    info = flash.detect(port)
    assert info["chip"] in ("esp32", "esp32s3") and info["flash_size"]


def test_flash_board(request):
    port = _port(request)
    name = os.environ.get("HUSHWORD_BOARD")
    firmware = os.environ.get("HUSHWORD_FIRMWARE")
    if not name or not firmware:
        pytest.skip("set HUSHWORD_BOARD and HUSHWORD_FIRMWARE (a MicroPython .bin) to flash")
    boards.load(name)
    assert cli.main(["flash", "--port", port, "--board", name, "--firmware", firmware]) == 0
