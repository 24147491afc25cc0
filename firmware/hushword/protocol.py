"""Serial protocol between the board and the host; the one definition of the framing.

Runs unchanged under MicroPython (device) and CPython (host tools import this module).

Wire format, all on the board's one serial link, interleaved with the REPL:

* Event (device -> host): one text line ``@hw {json}\\r\\n``. The JSON object always has
  ``"ev"``. A human reads it in any terminal; a program takes lines that start with ``@hw ``.
* Command (host -> device): one text line ``@hw {json}\\n`` with ``"cmd"`` and an optional
  integer ``"id"``; the device answers ``{"ev": "reply", "id": ..., "ok": true|false, ...}``.
  Lines longer than ``MAX_LINE`` bytes, lines without the prefix and invalid JSON give an
  ``{"ev": "error"}`` event; the device keeps running.
* Audio frame (device -> host, only from the gate): ``A5 5A`` magic, kind (u8), flags (u8),
  sequence (u16), payload length (u16), payload, CRC-32 (u32) over kind..payload; little
  endian. ``A5`` can never start a UTF-8 character, so a frame cannot be mistaken for an event
  line or REPL text, and a text line can never be mistaken for a frame (CRC).
"""

import json
import struct

try:
    from binascii import crc32
except ImportError:  # pragma: no cover - very small MicroPython builds
    crc32 = None

PREFIX = b"@hw "
MAX_LINE = 512

FRAME_MAGIC = b"\xa5\x5a"
FRAME_HEADER = 8  # magic(2) kind(1) flags(1) seq(2) len(2)
FRAME_TRAILER = 4  # crc32
MAX_PAYLOAD = 4096

KIND_PCM16 = 0
KIND_ADPCM = 1
KIND_NAMES = {KIND_PCM16: "pcm16", KIND_ADPCM: "adpcm"}

FLAG_START = 1  # first frame of a stream
FLAG_END = 2  # last frame of a stream

# Error codes of {"ev": "error"} events caused by serial input.
ERR_TOO_LONG = "line_too_long"
ERR_NO_PREFIX = "not_a_command"
ERR_BAD_JSON = "bad_json"
ERR_BAD_CMD = "unknown_command"
ERR_BAD_ARGS = "bad_arguments"


def encode_event(ev, **fields):
    """Return the bytes of one event line."""
    fields["ev"] = ev
    return PREFIX + json.dumps(fields).encode() + b"\r\n"


def encode_command(cmd, id=None, **args):
    args["cmd"] = cmd
    if id is not None:
        args["id"] = id
    return PREFIX + json.dumps(args).encode() + b"\n"


def parse_line(line):
    """Parse one received line (bytes, without the newline) into a dict.

    Returns ``(obj, None)`` or ``(None, error_code)``; never raises on bad input.
    """
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > MAX_LINE:
        return None, ERR_TOO_LONG
    if not line.startswith(PREFIX):
        return None, ERR_NO_PREFIX
    try:
        obj = json.loads(line[len(PREFIX) :])
    except Exception:  # ValueError on CPython, ValueError/UnicodeError on MicroPython
        return None, ERR_BAD_JSON
    if not isinstance(obj, dict):
        return None, ERR_BAD_JSON
    return obj, None


def frame_crc(buf):
    return crc32(buf) & 0xFFFFFFFF


def encode_frame(kind, seq, payload, flags=0):
    """Return one audio frame as bytes (host-side helper and reference for tests)."""
    body = struct.pack("<BBHH", kind, flags, seq & 0xFFFF, len(payload)) + bytes(payload)
    return FRAME_MAGIC + body + struct.pack("<I", frame_crc(body))


class LineReader:
    """Assemble command lines from bytes fed in any chunking; bounded memory.

    ``feed(data)`` returns a list of ``(obj, err)`` results, one per complete line. A line
    longer than MAX_LINE is reported once as ERR_TOO_LONG and discarded up to its newline.
    """

    def __init__(self):
        self._buf = bytearray(MAX_LINE + 1)
        self._n = 0
        self._overflow = False

    def feed(self, data):
        out = []
        buf = self._buf
        for b in data:
            if b == 10:  # \n
                if self._overflow:
                    out.append((None, ERR_TOO_LONG))
                elif self._n:
                    line = bytes(buf[: self._n])
                    if line.strip():
                        out.append(parse_line(line))
                self._n = 0
                self._overflow = False
            elif self._overflow:
                continue
            elif self._n > MAX_LINE:
                self._overflow = True
            else:
                buf[self._n] = b
                self._n += 1
        return out


class FrameParser:
    """Host side: split a device byte stream into event dicts, audio frames and other text.

    ``feed(data)`` returns a list of items: ``("event", dict)``, ``("frame", kind, flags, seq,
    payload)``, ``("text", bytes)`` for any other complete line (REPL output, boot messages).
    ``corrupt`` counts frames dropped for a bad CRC or length.
    """

    def __init__(self):
        self._buf = bytearray()
        self.corrupt = 0

    def feed(self, data):
        self._buf += data
        out = []
        buf = self._buf
        i = 0
        n = len(buf)
        while i < n:
            if buf[i] == 0xA5:
                if n - i < 2:
                    break
                if buf[i + 1] != 0x5A:
                    i += 1
                    continue
                if n - i < FRAME_HEADER:
                    break
                kind, flags, seq, length = struct.unpack_from("<BBHH", buf, i + 2)
                if length > MAX_PAYLOAD:
                    self.corrupt += 1
                    i += 1
                    continue
                end = i + FRAME_HEADER + length + FRAME_TRAILER
                if end > n:
                    break
                body = bytes(buf[i + 2 : i + FRAME_HEADER + length])
                (crc,) = struct.unpack_from("<I", buf, end - 4)
                if crc != frame_crc(body):
                    self.corrupt += 1
                    i += 1
                    continue
                out.append(("frame", kind, flags, seq, body[6:]))
                i = end
                continue
            j = i
            while j < n and buf[j] != 10 and buf[j] != 0xA5:
                j += 1
            if j < n and buf[j] == 10:
                line = bytes(buf[i:j]).rstrip(b"\r")
                k = line.find(PREFIX, 1)  # resync after noise: an event may follow junk
                if k > 0:
                    out.append(("text", line[:k]))
                    line = line[k:]
                out.append(self._line(line))
                i = j + 1
            elif j < n:  # a frame starts inside a line: emit the text before it
                if j > i:
                    out.append(("text", bytes(buf[i:j])))
                i = j
            else:
                if n - i > 65536:  # never hold an endless line
                    out.append(("text", bytes(buf[i:n])))
                    i = n
                break
        self._buf = self._buf[i:]
        return out

    def pending_text(self):
        """Bytes of an unfinished line (e.g. a REPL prompt)."""
        return bytes(self._buf)

    @staticmethod
    def _line(line):
        if line.startswith(PREFIX):
            try:
                obj = json.loads(line[len(PREFIX) :])
                if isinstance(obj, dict) and "ev" in obj:
                    return ("event", obj)
            except ValueError:
                pass
        return ("text", line)
