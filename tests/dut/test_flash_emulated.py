"""`hushword flash` end to end against the emulated ROM loader on pseudo-terminals.

The same command runs against real boards by hand: see test_flash_hardware.py.
"""

import os
import threading
import time

import pytest
from littlefs import LittleFS

from host_tools import cli, image
from host_tools.romloader import EmulatedBoard
from tests.host.test_image import fake_firmware


@pytest.fixture
def merged(tmp_path):
    fw = tmp_path / "micropython.bin"
    fw.write_bytes(fake_firmware(0))
    out = tmp_path / "hushword.bin"
    assert (
        cli.main(["image", "--board", "esp32-inmp441", "--firmware", str(fw), "-o", str(out)]) == 0
    )
    return out


def test_flash_two_boards_in_parallel(tmp_path, merged, capsys):
    img = merged.read_bytes()
    with EmulatedBoard(tmp_path / "a.bin") as a, EmulatedBoard(tmp_path / "b.bin") as b:
        rc = cli.main(
            [
                "flash",
                "--port",
                a.port,
                "--port",
                b.port,
                "--board",
                "esp32-inmp441",
                "--firmware",
                str(merged),
            ]
        )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert out.count("written and verified") == 2 and "in image" in out
    for name in ("a.bin", "b.bin"):
        flash = (tmp_path / name).read_bytes()
        assert flash[0x1000 : 0x1000 + len(img)] == img
        region = flash[0x200000:0x400000]
        fs = LittleFS(
            block_size=4096,
            block_count=512,
            read_size=32,
            prog_size=32,
            lookahead_size=32,
            mount=False,
        )
        fs.context.buffer[:] = region
        fs.mount()
        assert "hushword_manifest.json" in fs.listdir("/")


def test_wrong_chip_is_one_line_and_nothing_written(tmp_path, merged, capsys):
    with EmulatedBoard(tmp_path / "s3.bin", chip="esp32s3", flash_size=8 << 20) as s3:
        rc = cli.main(
            ["flash", "--port", s3.port, "--board", "esp32-inmp441", "--firmware", str(merged)]
        )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1
    assert "ESP32-S3 but board 'esp32-inmp441' is an esp32" in err[0]
    assert (tmp_path / "s3.bin").read_bytes() == b"\xff" * (8 << 20)


def test_image_bigger_than_flash_is_refused(tmp_path, capsys):
    fw = tmp_path / "big.bin"
    fw.write_bytes(fake_firmware(0, length=5 << 20))
    rc = cli.main(
        ["flash", "--port", "/dev/null", "--board", "esp32-inmp441", "--firmware", str(fw)]
    )
    assert (
        rc != 0 and "KB of flash but board 'esp32-inmp441' has 4096 KB" in capsys.readouterr().err
    )


def test_no_such_port(capsys):
    rc = cli.main(
        ["flash", "--port", "/dev/ttyUSB-none", "--board", "esp32-inmp441", "--no-deploy"]
    )
    cap = capsys.readouterr()
    assert rc != 0 and "no such port" in cap.err
    assert "FAILED" not in cap.out and cap.err.count("\n") == 1  # said once


def test_port_lost_mid_write_then_retry_succeeds(tmp_path, capsys):
    fw = tmp_path / "fw.bin"
    data = fake_firmware(0, length=0) + os.urandom(160_000)  # random: esptool cannot shrink it
    fw.write_bytes(data)
    flash = tmp_path / "flash.bin"
    args = [
        "flash",
        "--board",
        "esp32-inmp441",
        "--firmware",
        str(fw),
        "--no-deploy",
        "--baud",
        "921600",
    ]
    board = EmulatedBoard(flash, pace=True)  # real UART pace, so the write takes a while
    result = {}
    t = threading.Thread(target=lambda: result.update(rc=cli.main([*args, "--port", board.port])))
    t.start()
    deadline = time.monotonic() + 30
    while board.loader.stats["bytes_written"] < 16_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    board.unplug()
    t.join(60)
    err = capsys.readouterr().err.strip().splitlines()
    assert result["rc"] != 0 and len(err) == 1, err
    assert "port disappeared during the write" in err[0] and "run the same command again" in err[0]

    with EmulatedBoard(flash) as again:  # plugged back in
        assert cli.main([*args, "--port", again.port]) == 0
    assert flash.read_bytes()[0x1000 : 0x1000 + len(data)] == data
    assert image.parse_header(data)[0] == "esp32"
