"""`hushword image`: one flashable image = MicroPython firmware + the app's LittleFS filesystem.

The output starts at the chip's bootloader offset (0x1000 on ESP32, 0x0 on ESP32-S3), exactly
like MicroPython's own downloads, so `hushword flash --firmware OUT.bin` (or plain esptool)
writes it in one go. After the firmware comes 0xFF padding up to MicroPython's ``vfs``
partition, then a LittleFS v2 filesystem (4096-byte blocks, as MicroPython mounts it) holding:

    /main.py                 firmware/main.py (kept as source: MicroPython runs it by name)
    /hushword/*.mpy          firmware/hushword/*.py compiled with mpy-cross for the chip
    /models/*                firmware/models/*
    /board.py, /board.json   the board's files
    /hushword_manifest.json  sha256 of every file above; the app checks it at boot

`deploy_files(board)` gives the same file list to anything else that installs the app.
"""

import functools
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from host_tools import boards, paths
from host_tools.errors import HushwordError

BLOCK_SIZE = 4096
MANIFEST = "/hushword_manifest.json"
IMAGE_MAGIC = 0xE9

# Where MicroPython's prebuilt images start in flash, and the chip id in their header.
CHIP_BASE = {"esp32": 0x1000, "esp32s3": 0x0}
CHIP_IMAGE_ID = {"esp32": 0, "esp32s3": 9}
CHIP_TITLE = {"esp32": "ESP32_GENERIC", "esp32s3": "ESP32_GENERIC_S3"}
CHIP_BY_IMAGE_ID = {v: k for k, v in CHIP_IMAGE_ID.items()}
# Header byte 3, high nibble -> flash size the image was built for.
HEADER_FLASH_SIZE = {0: 1 << 20, 1: 2 << 20, 2: 4 << 20, 3: 8 << 20, 4: 16 << 20, 5: 32 << 20}

# MicroPython's ESP32 partition tables (ports/esp32/partitions-*.csv): the "vfs" data
# partition by flash size, as (offset, size).
VFS_PARTITION = {
    4 << 20: (0x200000, 0x200000),
    8 << 20: (0x200000, 0x600000),
    16 << 20: (0x200000, 0xE00000),
    32 << 20: (0x200000, 0x1E00000),
}


class ImageError(HushwordError):
    pass


def parse_header(data):
    """(chip or None, flash size or None) from an ESP app/bootloader image header."""
    if len(data) < 24 or data[0] != IMAGE_MAGIC:
        raise ImageError("not an ESP32 firmware image (first byte is not 0xE9)")
    size = HEADER_FLASH_SIZE.get(data[3] >> 4)
    (chip_id,) = struct.unpack_from("<H", data, 12)
    return CHIP_BY_IMAGE_ID.get(chip_id, "chip id %d" % chip_id), size


def check_firmware(data, board, what="firmware"):
    """Refuse an image built for another chip, or bigger than the board's flash."""
    chip, _ = parse_header(data)
    if chip != board["chip"]:
        raise ImageError(
            "%s is built for %s but board '%s' has an %s; use MicroPython's %s build"
            % (what, chip, board["name"], board["chip"], CHIP_TITLE[board["chip"]])
        )
    end = CHIP_BASE[board["chip"]] + len(data)
    if end > board["flash_size"]:
        raise ImageError(
            "%s needs %d KB of flash but board '%s' has %d KB"
            % (what, end >> 10, board["name"], board["flash_size"] >> 10)
        )


def _mpy_cross(src, march, name):
    """``src`` compiled for ``march``; cached by content (the sim installs the app at every
    fresh start, as a deploy would)."""
    data = Path(src).read_bytes()
    key = hashlib.sha256(b"%s\0%s\0%s\0" % (march.encode(), name.encode(), _mpy_cross_version())
                         + data).hexdigest()  # fmt: skip
    cached = paths.ROOT / ".cache" / "hushword" / "mpy" / (key + ".mpy")
    if cached.is_file():
        return cached.read_bytes()
    out = _mpy_cross_run(src, march, name)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp%d" % os.getpid())
        tmp.write_bytes(out)
        tmp.replace(cached)
    except OSError:
        pass  # a read-only checkout: compile every time
    return out


@functools.cache
def _mpy_cross_version():
    r = subprocess.run(
        [sys.executable, "-m", "mpy_cross", "--version"], capture_output=True, check=False
    )
    return (r.stdout + r.stderr).strip()


def _mpy_cross_run(src, march, name):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mpy"
        r = subprocess.run(
            # -s: tracebacks name the device path, and host paths stay off the device.
            [sys.executable, "-m", "mpy_cross", "-march=" + march, "-s", name, "-o", str(out)]
            + [str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode:
            raise ImageError("mpy-cross failed on %s: %s" % (src, r.stderr.strip()[-300:]))
        return out.read_bytes()


def deploy_files(board):
    """[(device path, bytes)] of everything the app needs on the board, manifest last."""
    files = []
    main = paths.FIRMWARE / "main.py"
    if main.is_file():
        files.append(("/main.py", main.read_bytes()))
    march = boards.mpy_arch(board)
    for src in sorted((paths.FIRMWARE / "hushword").glob("*.py")):
        mpy = _mpy_cross(src, march, "hushword/" + src.name)
        files.append(("/hushword/%s.mpy" % src.stem, mpy))
    models = paths.FIRMWARE / "models"
    if models.is_dir():
        for m in sorted(p for p in models.rglob("*") if p.is_file()):
            files.append(("/models/" + m.relative_to(models).as_posix(), m.read_bytes()))
    bdir = paths.BOARDS / board["name"]
    files.append(("/board.py", boards.board_py(board["name"]).read_bytes()))
    files.append(("/board.json", (bdir / "board.json").read_bytes()))
    manifest = {
        "version": 1,
        "board": board["name"],
        "files": {p: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in files},
    }
    files.append((MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode()))
    return files


def build_littlefs(files, size):
    """A LittleFS image of `size` bytes holding `files`, mountable by MicroPython."""
    from littlefs import LittleFS

    # MicroPython's VfsLfs2 defaults: 32-byte read/prog, 32-byte lookahead. Disk version 2.0
    # so older firmware's littlefs can mount it too.
    fs = LittleFS(
        block_size=BLOCK_SIZE,
        block_count=size // BLOCK_SIZE,
        read_size=32,
        prog_size=32,
        lookahead_size=32,
        disk_version=0x00020000,
        mount=False,
    )
    fs.format()
    fs.mount()
    for path, data in files:
        parent = os.path.dirname(path)
        if parent not in ("", "/"):
            fs.makedirs(parent, exist_ok=True)
        with fs.open(path, "wb") as f:
            f.write(data)
    fs.unmount()
    return bytes(fs.context.buffer)


def fs_region(board, fs_offset=None, fs_size=None):
    size = board["flash_size"]
    if fs_offset is None:
        if size not in VFS_PARTITION:
            raise ImageError(
                "no MicroPython partition table known for %d MB flash; pass --fs-offset and "
                "--fs-size" % (size >> 20)
            )
        fs_offset, default_size = VFS_PARTITION[size]
        fs_size = fs_size or default_size
    fs_size = fs_size or size - fs_offset
    if fs_offset % BLOCK_SIZE or fs_size % BLOCK_SIZE:
        raise ImageError("--fs-offset and --fs-size must be multiples of 4096")
    if fs_offset + fs_size > size:
        raise ImageError(
            "filesystem 0x%x+0x%x does not fit board '%s' flash (%d MB)"
            % (fs_offset, fs_size, board["name"], size >> 20)
        )
    return fs_offset, fs_size


def build(board, firmware, fs_offset=None, fs_size=None):
    """The merged image bytes (to be written at CHIP_BASE[chip]) and a summary dict."""
    check_firmware(firmware, board)
    base = CHIP_BASE[board["chip"]]
    fs_offset, fs_size = fs_region(board, fs_offset, fs_size)
    if base + len(firmware) > fs_offset:
        raise ImageError(
            "firmware (%d KB) overlaps the filesystem at 0x%x; use a smaller build or a "
            "larger --fs-offset" % (len(firmware) >> 10, fs_offset)
        )
    files = deploy_files(board)
    lfs = build_littlefs(files, fs_size)
    pad = b"\xff" * (fs_offset - base - len(firmware))
    image = firmware + pad + lfs
    info = {
        "board": board["name"],
        "chip": board["chip"],
        "base": base,
        "fs_offset": fs_offset,
        "fs_size": fs_size,
        "files": len(files),
        "app_bytes": sum(len(d) for _, d in files),
        "size": len(image),
    }
    return image, info


def add_arguments(p):
    p.add_argument("--board", required=True, help="board name (see 'hushword boards')")
    p.add_argument("--firmware", required=True, help="MicroPython .bin for the board's chip")
    p.add_argument("-o", "--output", required=True, help="image file to write")
    p.add_argument(
        "--fs-offset",
        type=lambda s: int(s, 0),
        help="filesystem flash offset, e.g. 0x200000 (default: MicroPython's vfs partition for "
        "the board's flash size)",
    )
    p.add_argument(
        "--fs-size",
        type=lambda s: int(s, 0),
        help="filesystem size in bytes (default: that partition's size, or the rest of the flash "
        "after --fs-offset)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args):
    board = boards.load(args.board)
    if board["chip"] not in CHIP_BASE:
        raise ImageError("board '%s' is simulated; it has nothing to flash" % board["name"])
    try:
        firmware = Path(args.firmware).read_bytes()
    except OSError as e:
        raise ImageError("cannot read firmware %s: %s" % (args.firmware, e.strerror)) from None
    image, info = build(board, firmware, args.fs_offset, args.fs_size)
    Path(args.output).write_bytes(image)
    info["output"] = args.output
    if args.json:
        print(json.dumps(info))
    else:
        print(
            "%s: %d KB for %s, write at 0x%x; filesystem 0x%x..0x%x with %d files (%d KB)"
            % (
                args.output,
                len(image) >> 10,
                board["name"],
                info["base"],
                info["fs_offset"],
                info["fs_offset"] + info["fs_size"],
                info["files"],
                info["app_bytes"] >> 10,
            )
        )
    return 0
