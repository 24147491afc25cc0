"""An emulated ESP32 ROM serial bootloader, so `esptool` and `hushword flash` run in CI.

It speaks the documented serial protocol (SLIP frames; command packets ``00 op len chk data``,
responses ``01 op len val data status``) well enough for the real esptool to detect an ESP32,
read its MAC and flash ID, write plain or compressed images, verify them by MD5, read flash
back and even load and "run" the flasher stub (the stub's protocol variant is emulated too;
its code is never executed). The flash chip is a file: NOR semantics (erase sets 0xFF, writes
can only clear bits), so a write without an erase shows up as a verify failure, as on a chip.

Registers esptool reads (chip magic, eFuse words for description/MAC/revision, UART clock
divider, SPI controller for flash commands) are modelled by a small register file; the SPI
"user command" engine answers RDID, RDSR and SFDP the way a Winbond-style flash does.

Use in-process (``ROMLoader(...).feed(bytes) -> bytes``) or on a pseudo-terminal master with
``serve(fd, flash_path)``, which is what ``hushword sim --download-mode`` calls.
"""

import hashlib
import os
import select
import struct
import threading
import time
import zlib

FLASH_SIZE_DEFAULT = 4 * 1024 * 1024
SECTOR = 0x1000

# Command opcodes (esptool's ESP_CMDS).
FLASH_BEGIN = 0x02
FLASH_DATA = 0x03
FLASH_END = 0x04
MEM_BEGIN = 0x05
MEM_END = 0x06
MEM_DATA = 0x07
SYNC = 0x08
WRITE_REG = 0x09
READ_REG = 0x0A
SPI_SET_PARAMS = 0x0B
SPI_ATTACH = 0x0D
READ_FLASH_SLOW = 0x0E
CHANGE_BAUDRATE = 0x0F
FLASH_DEFL_BEGIN = 0x10
FLASH_DEFL_DATA = 0x11
FLASH_DEFL_END = 0x12
SPI_FLASH_MD5 = 0x13
GET_SECURITY_INFO = 0x14
ERASE_FLASH = 0xD0
ERASE_REGION = 0xD1
READ_FLASH = 0xD2
RUN_USER_CODE = 0xD3

# ROM error codes (second status byte).
ERR_INVALID_MESSAGE = 0x05
ERR_FAILED = 0x06
ERR_INVALID_CRC = 0x07
ERR_FLASH_WRITE = 0x08
ERR_FLASH_READ = 0x09
ERR_DEFLATE = 0x0B

CHECKSUM_MAGIC = 0xEF
SYNC_PAYLOAD = b"\x07\x07\x12\x20" + b"\x55" * 32

# Winbond-style JEDEC ID: manufacturer 0xEF, memory type 0x40, capacity byte = log2(size).
FLASH_MANUFACTURER = 0xEF
FLASH_MEMORY_TYPE = 0x40
SFDP_SIGNATURE = 0x50444653  # "SFDP", little endian


class Chip:
    """The registers and quirks esptool relies on for one chip family."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


CHIPS = {
    "esp32": Chip(
        name="ESP32",
        magic=0x00F01D83,  # at CHIP_DETECT_MAGIC_REG_ADDR; ESP32 has no chip-id command
        chip_id=None,
        rom_status_len=4,  # the ESP32 ROM (only) sends 4 status bytes; the stub sends 2
        spi_base=0x3FF42000,
        spi_usr=0x1C,
        spi_usr1=0x20,
        spi_usr2=0x24,
        spi_mosi_dlen=0x28,
        spi_miso_dlen=0x2C,
        spi_w0=0x80,
        efuse_base=0x3FF5A000,
        uart_clkdiv=0x3FF40014,
        apb_date=0x3FF66000 + 0x7C,
        rtc_cali=0x3FF5F06C,
        xtal=40_000_000,
    ),
    "esp32s3": Chip(
        name="ESP32-S3",
        magic=None,
        chip_id=9,  # answered by GET_SECURITY_INFO, which S3 ROMs support
        rom_status_len=2,
        spi_base=0x60002000,
        spi_usr=0x18,
        spi_usr1=0x1C,
        spi_usr2=0x20,
        spi_mosi_dlen=0x24,
        spi_miso_dlen=0x28,
        spi_w0=0x58,
        efuse_base=0x60007000,
        uart_clkdiv=0x60000014,
        apb_date=None,
        rtc_cali=None,
        xtal=40_000_000,
    ),
}

_MAGIC_REG = 0x40001000
_SPI_CMD_USR = 1 << 18


def _mac_for(seed):
    # Espressif OUI plus three bytes from the flash path: distinct emulated boards get
    # distinct MACs, and one board keeps its MAC across runs.
    h = hashlib.sha256(seed.encode()).digest()
    return bytes([0x24, 0x0A, 0xC4]) + h[:3]


def slip_encode(packet):
    return b"\xc0" + packet.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"


def checksum(data, state=CHECKSUM_MAGIC):
    for b in data:
        state ^= b
    return state


class FlashFile:
    """A NOR flash chip backed by a file (created 0xFF-filled, grown if too small)."""

    def __init__(self, path, size):
        self.path = os.fspath(path)
        self.size = size
        mode = "r+b" if os.path.exists(self.path) else "w+b"
        self._f = open(self.path, mode)
        self._f.seek(0, os.SEEK_END)
        have = self._f.tell()
        if have < size:
            self._f.write(b"\xff" * (size - have))
            self._f.flush()

    def close(self):
        self._f.close()

    def _check(self, offset, length):
        if offset < 0 or length < 0 or offset + length > self.size:
            raise IndexError("flash access 0x%x+0x%x beyond 0x%x" % (offset, length, self.size))

    def read(self, offset, length):
        self._check(offset, length)
        self._f.seek(offset)
        return self._f.read(length)

    def erase(self, offset, length):
        """Erase every sector touching [offset, offset + length)."""
        if length <= 0:
            return
        start = offset - offset % SECTOR
        end = -(-(offset + length) // SECTOR) * SECTOR
        end = min(end, self.size)
        self._check(start, end - start)
        self._f.seek(start)
        self._f.write(b"\xff" * (end - start))

    def program(self, offset, data):
        # NOR programming only clears bits: unerased flash keeps the AND of old and new.
        old = self.read(offset, len(data))
        if old != b"\xff" * len(data):
            data = bytes(a & b for a, b in zip(old, data))
        self._f.seek(offset)
        self._f.write(data)

    def flush(self):
        self._f.flush()


class ROMLoader:
    """The bootloader state machine: bytes in (from the host), bytes out (to the host)."""

    def __init__(self, flash_path, chip="esp32", flash_size=FLASH_SIZE_DEFAULT, mac=None):
        if chip not in CHIPS:
            raise ValueError("unknown chip %r (have: %s)" % (chip, ", ".join(CHIPS)))
        if flash_size & (flash_size - 1) or flash_size < 0x100000:
            raise ValueError("flash size must be a power of two of at least 1 MB")
        self.chip = CHIPS[chip]
        self.chip_key = chip
        self.flash = FlashFile(flash_path, flash_size)
        self.mac = mac or _mac_for(os.path.abspath(os.fspath(flash_path)))
        self.baud = 115200
        self.stub = False  # True once the flasher stub has been "uploaded and run"
        self.regs = {}
        self._frame = None  # bytearray while inside a SLIP frame
        self._escape = False
        self._write = None  # (offset, block_size, next_seq, end) of a FLASH_BEGIN
        self._defl = None  # (decompressor, offset written so far, end) of FLASH_DEFL_BEGIN
        self._mem = None
        self._read_job = None  # pending stub READ_FLASH: list of frames still to send
        self.stats = {"commands": 0, "bytes_written": 0, "bytes_in": 0, "bytes_out": 0}
        self._init_regs()

    # -- registers -------------------------------------------------------------------------

    def _init_regs(self):
        c = self.chip
        r = self.regs
        if c.magic is not None:
            r[_MAGIC_REG] = c.magic
        mac = self.mac
        if self.chip_key == "esp32":
            e = c.efuse_base
            # read_mac(): pack(">II", efuse2, efuse1)[2:8]; the top half of word 2 is a CRC.
            r[e + 4] = int.from_bytes(mac[2:6], "big")
            r[e + 8] = (int.from_bytes(mac[0:2], "big")) | (0xA5 << 16)
            # word 3: package D0WD (bits 9..11 = 1), revision bit 0 (bit 15).
            r[e + 12] = (1 << 9) | (1 << 15)
            r[e + 16] = 100  # CK8M calibration; with rtc_cali this gives a 40 MHz crystal
            r[e + 20] = 1 << 20  # revision bit 1
            r[c.apb_date] = 1 << 31  # revision bit 2 -> ESP32-D0WD-V3 rev v3.0
            r[c.rtc_cali] = (c.xtal * 40 // (15625 * 100)) << 7
        else:
            # ESP32-S3: MAC in EFUSE_RD_MAC_SPI_SYS_0/1; the rest of the eFuses read 0
            # (revision v0.0, no embedded flash or PSRAM).
            e = c.efuse_base
            r[e + 0x44] = int.from_bytes(mac[2:6], "big")
            r[e + 0x48] = int.from_bytes(mac[0:2], "big")

    def _read_reg(self, addr):
        c = self.chip
        if addr == c.uart_clkdiv:
            return max(1, round(c.xtal / self.baud))
        return self.regs.get(addr, 0)

    def _write_reg(self, addr, value, mask):
        old = self.regs.get(addr, 0)
        self.regs[addr] = (old & ~mask) | (value & mask)
        c = self.chip
        if addr == c.spi_base and self.regs[addr] & _SPI_CMD_USR:
            self._spi_user_command()
            self.regs[addr] &= ~_SPI_CMD_USR  # done at once: esptool polls for this bit

    def _spi_user_command(self):
        c = self.chip
        b = c.spi_base
        cmd = self.regs.get(b + c.spi_usr2, 0) & 0xFFFF
        miso_bits = (self.regs.get(b + c.spi_miso_dlen, 0) & 0xFFFFFF) + 1
        addr = self.regs.get(b + 0x04, 0)
        size_log2 = self.flash.size.bit_length() - 1
        if cmd == 0x9F:  # RDID: manufacturer, memory type, capacity, in wire order
            value = FLASH_MANUFACTURER | FLASH_MEMORY_TYPE << 8 | size_log2 << 16
        elif cmd in (0x05, 0x35, 0x15):  # RDSR 1..3: idle, not write protected
            value = 0
        elif cmd == 0x5A:  # RDSFDP: signature at address 0 only
            value = SFDP_SIGNATURE if (addr >> 8) == 0 else 0xFFFFFFFF
        else:  # WREN, WRDI, WRSR ...: accepted, nothing to read back
            value = 0
        if miso_bits < 32:
            value &= (1 << miso_bits) - 1
        self.regs[b + c.spi_w0] = value

    # -- framing ---------------------------------------------------------------------------

    def feed(self, data):
        """Consume bytes from the host; return the bytes the chip sends back."""
        self.stats["bytes_in"] += len(data)
        out = []
        for byte in data:
            if self._frame is None:
                if byte == 0xC0:
                    self._frame = bytearray()
                continue  # line noise between frames is ignored, as by the ROM
            if self._escape:
                self._escape = False
                if byte == 0xDC:
                    self._frame.append(0xC0)
                elif byte == 0xDD:
                    self._frame.append(0xDB)
                else:  # invalid escape: drop the frame
                    self._frame = None
                continue
            if byte == 0xDB:
                self._escape = True
            elif byte == 0xC0:
                frame = bytes(self._frame)
                if not frame:  # back-to-back delimiters: the second opens the next frame
                    continue
                self._frame = None
                out.append(self._packet(frame))
            else:
                self._frame.append(byte)
        res = b"".join(out)
        self.stats["bytes_out"] += len(res)
        return res

    def _status_len(self):
        return 2 if self.stub else self.chip.rom_status_len

    def _reply(self, op, val=0, data=b"", error=0):
        status = bytes([1 if error else 0, error]) + b"\x00" * (self._status_len() - 2)
        body = data + status
        return slip_encode(struct.pack("<BBHI", 1, op, len(body), val) + body)

    def _packet(self, frame):
        if len(frame) < 8 or frame[0] != 0:
            return b""  # stub READ_FLASH acks and stray frames carry no command
        _, op, size, chk = struct.unpack("<BBHI", frame[:8])
        data = frame[8 : 8 + size]
        self.stats["commands"] += 1
        handler = self._handlers().get(op)
        if handler is None or (op >= 0xD0 and not self.stub):
            return self._reply(op, error=ERR_INVALID_MESSAGE)
        try:
            return handler(op, data, chk)
        except (struct.error, IndexError, ValueError):
            return self._reply(op, error=ERR_FAILED)

    def _handlers(self):
        return {
            SYNC: self._sync,
            READ_REG: self._cmd_read_reg,
            WRITE_REG: self._cmd_write_reg,
            SPI_ATTACH: self._ok,
            SPI_SET_PARAMS: self._ok,
            CHANGE_BAUDRATE: self._change_baud,
            FLASH_BEGIN: self._flash_begin,
            FLASH_DATA: self._flash_data,
            FLASH_END: self._flash_end,
            FLASH_DEFL_BEGIN: self._defl_begin,
            FLASH_DEFL_DATA: self._defl_data,
            FLASH_DEFL_END: self._flash_end,
            SPI_FLASH_MD5: self._md5,
            READ_FLASH_SLOW: self._read_slow,
            GET_SECURITY_INFO: self._security_info,
            MEM_BEGIN: self._mem_begin,
            MEM_DATA: self._mem_data,
            MEM_END: self._mem_end,
            ERASE_FLASH: self._erase_flash,
            ERASE_REGION: self._erase_region,
            READ_FLASH: self._read_flash,
            RUN_USER_CODE: lambda op, data, chk: b"",
        }

    # -- commands --------------------------------------------------------------------------

    def _ok(self, op, data, chk):
        return self._reply(op)

    def _sync(self, op, data, chk):
        if data != SYNC_PAYLOAD:
            return b""  # the ROM stays silent until it sees a proper sync
        # The ROM answers a sync eight times (esptool reads all eight); the stub answers val 0.
        val = 0 if self.stub else 0x20120707
        return self._reply(op, val) * 8

    def _cmd_read_reg(self, op, data, chk):
        (addr,) = struct.unpack("<I", data[:4])
        return self._reply(op, self._read_reg(addr))

    def _cmd_write_reg(self, op, data, chk):
        for i in range(0, len(data) - 15, 16):
            addr, value, mask, _delay = struct.unpack("<IIII", data[i : i + 16])
            self._write_reg(addr, value, mask)
        return self._reply(op)

    def _change_baud(self, op, data, chk):
        (baud,) = struct.unpack("<I", data[:4])
        self.baud = baud or self.baud
        return self._reply(op)

    def _security_info(self, op, data, chk):
        if self.chip.chip_id is None:
            return self._reply(op, error=ERR_INVALID_MESSAGE)  # ESP32 ROM: unknown command
        info = struct.pack("<IBBBBBBBBII", 0, 0, *(0,) * 7, self.chip.chip_id, 0)
        return self._reply(op, data=info)

    def _flash_begin(self, op, data, chk):
        erase_size, _blocks, block_size, offset = struct.unpack("<IIII", data[:16])
        if offset + erase_size > self.flash.size:
            return self._reply(op, error=ERR_FAILED)
        if not self.stub:
            self.flash.erase(offset, erase_size)  # the ROM erases up front
        self._write = [offset, block_size, 0, offset + erase_size]
        return self._reply(op)

    def _flash_data(self, op, data, chk):
        size, seq = struct.unpack("<II", data[:8])
        payload = data[16 : 16 + size]
        if self._write is None or len(payload) != size:
            return self._reply(op, error=ERR_FAILED)
        if checksum(payload) != chk & 0xFF:
            return self._reply(op, error=ERR_INVALID_CRC)
        offset, block_size, expect, _end = self._write
        if seq != expect:
            return self._reply(op, error=ERR_FAILED)
        at = offset + seq * block_size
        payload = payload[: max(0, min(len(payload), self.flash.size - at))]
        if self.stub:
            self.flash.erase(at, len(payload))  # the stub erases as it writes
        self.flash.program(at, payload)
        self.stats["bytes_written"] += len(payload)
        self._write[2] = seq + 1
        return self._reply(op)

    def _flash_end(self, op, data, chk):
        self.flash.flush()
        self._write = None
        self._defl = None
        return self._reply(op)

    def _defl_begin(self, op, data, chk):
        write_size, _blocks, _block_size, offset = struct.unpack("<IIII", data[:16])
        if offset + write_size > self.flash.size:
            return self._reply(op, error=ERR_FAILED)
        self.flash.erase(offset, write_size)
        self._defl = [zlib.decompressobj(), offset, offset + write_size, 0]
        return self._reply(op)

    def _defl_data(self, op, data, chk):
        size, seq = struct.unpack("<II", data[:8])
        payload = data[16 : 16 + size]
        if self._defl is None or len(payload) != size:
            return self._reply(op, error=ERR_FAILED)
        if checksum(payload) != chk & 0xFF:
            return self._reply(op, error=ERR_INVALID_CRC)
        dec, at, _end, expect = self._defl
        if seq != expect:
            return self._reply(op, error=ERR_FAILED)
        try:
            raw = dec.decompress(payload)
        except zlib.error:
            return self._reply(op, error=ERR_DEFLATE)
        if at + len(raw) > self.flash.size:
            return self._reply(op, error=ERR_FLASH_WRITE)
        self.flash.program(at, raw)
        self.stats["bytes_written"] += len(raw)
        self._defl[1] = at + len(raw)
        self._defl[3] = seq + 1
        return self._reply(op)

    def _md5(self, op, data, chk):
        addr, size = struct.unpack("<II", data[:8])
        try:
            digest = hashlib.md5(self.flash.read(addr, size))
        except IndexError:
            return self._reply(op, error=ERR_FLASH_READ)
        # The ROM answers 32 hex characters, the stub 16 raw bytes.
        body = digest.digest() if self.stub else digest.hexdigest().encode()
        return self._reply(op, data=body)

    def _read_slow(self, op, data, chk):
        addr, size = struct.unpack("<II", data[:8])
        try:
            block = self.flash.read(addr, min(size, 64))
        except IndexError:
            return self._reply(op, error=ERR_FLASH_READ)
        return self._reply(op, data=block.ljust(64, b"\xff"))

    def _mem_begin(self, op, data, chk):
        self._mem = struct.unpack("<IIII", data[:16])
        return self._reply(op)

    def _mem_data(self, op, data, chk):
        size = struct.unpack("<I", data[:4])[0]
        if self._mem is None or checksum(data[16 : 16 + size]) != chk & 0xFF:
            return self._reply(op, error=ERR_INVALID_CRC)
        return self._reply(op)

    def _mem_end(self, op, data, chk):
        no_entry, entry = struct.unpack("<II", data[:8])
        reply = self._reply(op)
        self._mem = None
        if not no_entry and entry:
            # The uploaded code is the flasher stub (nothing else is ever run this way):
            # switch to its protocol variant and greet like it does.
            self.stub = True
            reply += slip_encode(b"OHAI")
        return reply

    def _erase_flash(self, op, data, chk):
        self.flash.erase(0, self.flash.size)
        return self._reply(op)

    def _erase_region(self, op, data, chk):
        offset, size = struct.unpack("<II", data[:8])
        if offset % SECTOR or size % SECTOR or offset + size > self.flash.size:
            return self._reply(op, error=ERR_FAILED)
        self.flash.erase(offset, size)
        return self._reply(op)

    def _read_flash(self, op, data, chk):
        offset, length, block, _in_flight = struct.unpack("<IIII", data[:16])
        try:
            content = self.flash.read(offset, length)
        except IndexError:
            return self._reply(op, error=ERR_FLASH_READ)
        # The stub streams blocks and waits for acks; esptool acks every block it reads,
        # so sending them all at once keeps the same order on the wire.
        frames = [slip_encode(content[i : i + block]) for i in range(0, length, block)]
        frames.append(slip_encode(hashlib.md5(content).digest()))
        return self._reply(op) + b"".join(frames)

    def close(self):
        self.flash.close()


def serve(
    fd,
    flash_path,
    chip="esp32",
    flash_size=FLASH_SIZE_DEFAULT,
    stop=None,
    loader=None,
    pace=False,
):
    """Be the ROM loader on file descriptor `fd` (a pty master) until `stop` is set.

    `stop` is a `threading.Event` (or anything with ``is_set()``). Returns the loader so a
    caller can look at its stats. A closed far end (EIO on a pty master) is waited out: the
    host may close and reopen the port between esptool runs, as with a real board.
    With `pace`, traffic is held to the negotiated baud rate (10 bits a byte, full duplex),
    so timings match a real UART link instead of pty speed.
    """
    stop = stop or threading.Event()
    loader = loader or ROMLoader(flash_path, chip=chip, flash_size=flash_size)
    due = time.monotonic()
    try:
        while not stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
            except (OSError, ValueError):
                break  # fd closed under us
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:
                stop.wait(0.05)  # EIO: nobody has the slave open right now
                continue
            if not data:
                stop.wait(0.05)
                continue
            out = loader.feed(data)
            if pace:
                due = max(due, time.monotonic()) + max(len(data), len(out)) * 10 / loader.baud
                stop.wait(max(0.0, due - time.monotonic()))
            view = memoryview(out)
            while view and not stop.is_set():
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    select.select([], [fd], [], 0.05)
                    continue
                except OSError:
                    break
                view = view[n:]
    finally:
        loader.close()
    return loader


class EmulatedBoard:
    """A board in download mode on a fresh pseudo-terminal, served from a thread.

    ``with EmulatedBoard(flash_path) as board: esptool --port board.port ...``. The slave end
    stays open here too, so the master never sees EIO between two host connections.
    """

    def __init__(self, flash_path, chip="esp32", flash_size=FLASH_SIZE_DEFAULT, pace=False):
        import tty

        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.loader = ROMLoader(flash_path, chip=chip, flash_size=flash_size)
        self.flash_path = os.fspath(flash_path)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=serve,
            args=(self.master, flash_path),
            kwargs={"stop": self._stop, "loader": self.loader, "pace": pace},
            name="romloader " + self.port,
            daemon=True,
        )
        self._thread.start()

    def unplug(self):
        """Stop answering and close the port, as when a USB cable is pulled."""
        self._stop.set()
        self._thread.join(2)
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    close = unplug

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
