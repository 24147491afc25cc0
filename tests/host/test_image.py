"""`hushword image`: firmware + LittleFS app partition, checked by mounting the result."""

import hashlib
import json
import struct

import pytest
from littlefs import LittleFS

from host_tools import boards, image


def fake_firmware(chip_id=0, size_nibble=2, length=200_000):
    """A minimal ESP32 image header (magic 0xE9, extended header chip id) plus padding."""
    header = bytes([0xE9, 1, 2, size_nibble << 4]) + struct.pack("<I", 0x40080000)
    header += bytes([0xEE, 0, 0, 0]) + struct.pack("<H", chip_id) + bytes(10)
    return header + bytes(length)


def mount(region):
    fs = LittleFS(
        block_size=4096,
        block_count=len(region) // 4096,
        read_size=32,
        prog_size=32,
        lookahead_size=32,
        mount=False,
    )
    fs.context.buffer[:] = region
    fs.mount()
    return fs


def test_header_parsing():
    assert image.parse_header(fake_firmware(9, 3)) == ("esp32s3", 8 << 20)
    with pytest.raises(image.ImageError, match="0xE9"):
        image.parse_header(b"\x00" * 64)


def test_image_holds_firmware_and_app_filesystem(tmp_path):
    board = boards.load("esp32-inmp441")
    fw = fake_firmware()
    data, info = image.build(board, fw)
    assert data[: len(fw)] == fw
    assert info["base"] == 0x1000 and info["fs_offset"] == 0x200000
    start = info["fs_offset"] - info["base"]
    assert data[len(fw) : start] == b"\xff" * (start - len(fw))
    fs = mount(data[start : start + info["fs_size"]])
    root = fs.listdir("/")
    assert {"main.py", "board.py", "board.json", "hushword", "hushword_manifest.json"} <= set(root)
    mods = fs.listdir("/hushword")
    assert "protocol.mpy" in mods and not any(m.endswith(".py") for m in mods)
    with fs.open("/hushword/protocol.mpy", "rb") as f:
        assert f.read(1) == b"M"  # mpy magic
    with fs.open("/hushword_manifest.json", "r") as f:
        manifest = json.load(f)
    assert manifest["board"] == "esp32-inmp441"
    for path, entry in manifest["files"].items():
        with fs.open(path, "rb") as f:
            data = f.read()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], path
            assert len(data) == entry["size"], path
    assert "/board.json" in manifest["files"] and "/main.py" in manifest["files"]


def test_wrong_chip_and_oversize_are_refused():
    s3 = boards.load("esp32s3-inmp441")
    with pytest.raises(image.ImageError, match="built for esp32 but board 'esp32s3-inmp441'"):
        image.build(s3, fake_firmware(0))
    esp32 = boards.load("esp32-inmp441")
    with pytest.raises(image.ImageError, match="overlaps the filesystem"):
        image.build(esp32, fake_firmware(0, length=0x200000))


def test_cli_writes_image(tmp_path):
    from host_tools import cli

    fw = tmp_path / "fw.bin"
    fw.write_bytes(fake_firmware(9, 3))
    out = tmp_path / "out.bin"
    rc = cli.main(["image", "--board", "esp32s3-inmp441", "--firmware", str(fw), "-o", str(out)])
    assert rc == 0 and out.stat().st_size == 8 << 20
