"""The emulated ROM loader: protocol unit tests in-process, and the real esptool on a pty."""

import hashlib
import os
import struct
import subprocess
import sys

import pytest

from host_tools import romloader
from host_tools.romloader import EmulatedBoard, ROMLoader, slip_encode


def _cmd(op, data=b"", chk=0):
    return slip_encode(struct.pack("<BBHI", 0, op, len(data), chk) + data)


def _responses(raw):
    frames = [f for f in raw.split(b"\xc0") if f]
    out = []
    for f in frames:
        f = f.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")
        out.append((f[1], struct.unpack("<I", f[4:8])[0], f[8:]))
    return out


@pytest.fixture
def rom(tmp_path):
    loader = ROMLoader(tmp_path / "flash.bin")
    yield loader
    loader.close()


def test_flash_file_is_erased_and_sized(rom, tmp_path):
    data = (tmp_path / "flash.bin").read_bytes()
    assert len(data) == 4 * 1024 * 1024 and data == b"\xff" * len(data)


def test_sync_is_answered_eight_times_with_rom_value(rom):
    replies = _responses(rom.feed(_cmd(romloader.SYNC, romloader.SYNC_PAYLOAD)))
    assert len(replies) == 8
    assert all(op == romloader.SYNC and val != 0 for op, val, _ in replies)


def test_chip_magic_register(rom):
    (reply,) = _responses(rom.feed(_cmd(romloader.READ_REG, struct.pack("<I", 0x40001000))))
    assert reply[1] == 0x00F01D83


def test_unknown_command_reports_invalid_message(rom):
    (reply,) = _responses(rom.feed(_cmd(romloader.GET_SECURITY_INFO)))
    assert reply[2][:2] == bytes([1, romloader.ERR_INVALID_MESSAGE])


def test_bad_checksum_is_rejected_and_nothing_written(rom):
    rom.feed(_cmd(romloader.FLASH_BEGIN, struct.pack("<IIII", 0x1000, 1, 0x400, 0x1000)))
    block = b"\x00" * 0x400
    (reply,) = _responses(
        rom.feed(_cmd(romloader.FLASH_DATA, struct.pack("<IIII", 0x400, 0, 0, 0) + block, 0x12))
    )
    assert reply[2][:2] == bytes([1, romloader.ERR_INVALID_CRC])
    assert rom.flash.read(0x1000, 0x400) == b"\xff" * 0x400


def test_nor_write_without_erase_ands_bits(rom):
    rom.flash.program(0, b"\x0f")
    rom.flash.program(0, b"\xf3")
    assert rom.flash.read(0, 1) == b"\x03"


def test_noise_between_frames_is_ignored(rom):
    out = rom.feed(b"garbage\x00\xdb" + _cmd(romloader.READ_REG, struct.pack("<I", 0x40001000)))
    assert _responses(out)[0][1] == 0x00F01D83


def _esptool(port, *args):
    cmd = [sys.executable, "-m", "esptool", "--port", port, "--before", "no-reset"]
    cmd += ["--after", "no-reset", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_real_esptool_detects_writes_and_verifies(tmp_path):
    image = tmp_path / "img.bin"
    image.write_bytes(b"\xe9" + os.urandom(50_000))
    other = tmp_path / "other.bin"
    other.write_bytes(b"\xe9" + os.urandom(5_000))
    with EmulatedBoard(tmp_path / "flash.bin") as board:
        r = _esptool(board.port, "--no-stub", "chip-id")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Detecting chip type... ESP32" in r.stdout
        assert "ESP32-D0WD-V3" in r.stdout

        r = _esptool(board.port, "--no-stub", "flash-id")
        assert r.returncode == 0 and "Detected flash size: 4MB" in r.stdout

        r = _esptool(board.port, "--no-stub", "write-flash", "0x1000", str(image))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Hash of data verified" in r.stdout

        r = _esptool(board.port, "--no-stub", "verify-flash", "0x1000", str(image))
        assert r.returncode == 0 and "digest matched" in r.stdout

        r = _esptool(board.port, "--no-stub", "verify-flash", "0x1000", str(other))
        assert r.returncode != 0 and "Verification failed" in r.stdout + r.stderr

    flash = (tmp_path / "flash.bin").read_bytes()
    size = image.stat().st_size
    assert flash[0x1000 : 0x1000 + size] == image.read_bytes()
    assert flash[:0x1000] == b"\xff" * 0x1000


def test_real_esptool_with_stub_reads_back(tmp_path):
    image = tmp_path / "img.bin"
    image.write_bytes(os.urandom(20_000))
    back = tmp_path / "back.bin"
    with EmulatedBoard(tmp_path / "flash.bin", chip="esp32s3", flash_size=8 << 20) as board:
        r = _esptool(board.port, "write-flash", "0x10000", str(image))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Detecting chip type... ESP32-S3" in r.stdout and "Stub flasher running" in r.stdout
        r = _esptool(board.port, "read-flash", "0x10000", "20000", str(back))
        assert r.returncode == 0, r.stdout + r.stderr
    assert hashlib.md5(back.read_bytes()).digest() == hashlib.md5(image.read_bytes()).digest()
