"""`hushword stream`: record debug audio from the board over the wired serial link to a WAV file.

The board sends audio only while its owner has granted debug permission (`hushword privacy
allow-debug SECONDS`); without it the board refuses and so does this command. Frames carry
sequence numbers and a CRC: gaps are counted as lost (and filled with silence so the WAV keeps
its timing), bad CRCs as corrupt.

Budget: 16 kHz mono is 32 kB/s as PCM16 (plus 12 bytes of framing per 20 ms hop: 32.6 kB/s,
which needs >= 460800 baud) or 8.2 kB/s as IMA-ADPCM (8.8 kB/s framed, fits 115200 baud =
11.5 kB/s with room for events).
"""

import json
import math
import struct
import sys
import time
import wave

from hushword import protocol

from host_tools import adpcm
from host_tools.errors import HushwordError
from host_tools.device import Device, add_port_arguments

RATE = 16000
HOP = 320
FRAME_BYTES = {"pcm16": 8 + 2 * HOP + 4, "adpcm": 8 + adpcm.block_size(HOP) + 4}
PCM16_MIN_BAUD = 460800


def bytes_per_second(codec):
    return FRAME_BYTES[codec] * RATE // HOP


def link_fits(codec, baud):
    """True if ``codec`` fits a UART at ``baud`` (10 bits per byte) with 10 % to spare."""
    return bytes_per_second(codec) * 10 * 1.1 <= baud


class Recorder:
    """Turns frames into PCM, counting lost and corrupt frames. Independent of the port."""

    def __init__(self, codec):
        self.kind = protocol.KIND_PCM16 if codec == "pcm16" else protocol.KIND_ADPCM
        self.pcm = bytearray()
        self.frames = 0
        self.lost = 0
        self.wrong_kind = 0
        self.ended = False
        self._next = None
        self.last_level = -120.0

    def frame(self, kind, flags, seq, payload):
        if kind != self.kind:
            self.wrong_kind += 1
            return
        if self._next is not None and not flags & protocol.FLAG_START:
            gap = (seq - self._next) & 0xFFFF
            if gap:
                self.lost += gap
                self.pcm += bytes(2 * HOP * gap)  # keep the timing: silence for lost hops
        self._next = (seq + 1) & 0xFFFF
        if flags & protocol.FLAG_END:
            self.ended = True
        if not payload:
            return
        pcm = adpcm.decode_block(payload) if kind == protocol.KIND_ADPCM else payload
        self.pcm += pcm
        self.frames += 1
        self.last_level = level_dbfs(pcm)

    def seconds(self):
        return len(self.pcm) / 2 / RATE


def level_dbfs(pcm):
    n = len(pcm) // 2
    if not n:
        return -120.0
    acc = 0
    for (v,) in struct.iter_unpack("<h", bytes(pcm[: 2 * n])):
        acc += v * v
    rms = math.sqrt(acc / n)
    return 20 * math.log10(rms / 32768) if rms > 0 else -120.0


def meter(db, width=30):
    fill = max(0, min(width, int((db + 60) / 60 * width)))
    return "[" + "#" * fill + " " * (width - fill) + "]"


def write_wav(path, pcm):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(pcm))


def add_arguments(p):
    p.description = (
        "Record the board's microphone over the wired serial link to a WAV file. Needs the "
        "owner's debug permission first: hushword privacy --port P allow-debug SECONDS."
    )
    add_port_arguments(p)
    p.add_argument("--seconds", type=int, default=10, help="how long to record (default 10)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav", help="WAV file to write")
    p.add_argument("--codec", choices=("adpcm", "pcm16"), default="adpcm",
                   help="adpcm (default; fits 115200 baud) or pcm16 (needs >= 460800 baud)")  # fmt: skip
    p.add_argument("--force", action="store_true",
                   help="stream even if the codec does not fit the baud rate (frames will be lost)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no level meter on stderr")


def record(dev, codec, seconds, show=None):
    """Ask the board for a stream and collect it.

    Returns ``(Recorder, corrupt, close_event, granted_ms, error)``: ``error`` is the
    HushwordError that cut the stream short (the port vanished), or None. What arrived before
    it is in the Recorder either way, for the caller to save."""
    reply = dev.command("stream", codec=codec, seconds=seconds)
    granted_ms = reply.get("ms", seconds * 1000)
    rec = Recorder(codec)
    close = None
    corrupt0 = dev.parser.corrupt
    deadline = time.monotonic() + granted_ms / 1000 + 3
    last_show = 0.0
    error = None
    try:
        while time.monotonic() < deadline and close is None:
            for item in dev.read_items():
                if item[0] == "frame":
                    rec.frame(*item[1:])
                elif item[0] == "event":
                    ev = item[1]
                    if (
                        ev.get("ev") == "gate"
                        and ev.get("transport") == "serial"
                        and ev.get("state") == "close"
                    ):
                        close = ev
            now = time.monotonic()
            if show and now - last_show > 0.1:
                last_show = now
                show(rec, dev.parser.corrupt - corrupt0)
    except KeyboardInterrupt:
        try:
            dev.command("stream", stop=True)
        except HushwordError:
            pass
    except HushwordError as e:  # the port vanished: keep what arrived
        error = e
    if error is None:
        # Frames still in flight when the close event was parsed.
        try:
            for item in dev.read_items():
                if item[0] == "frame":
                    rec.frame(*item[1:])
        except HushwordError as e:
            error = e
    return rec, dev.parser.corrupt - corrupt0, close, granted_ms, error


def _record_or_explain(dev, *a):
    try:
        return record(dev, *a)
    except HushwordError as e:
        if "allow-debug SECONDS" in str(e):  # the board cannot know the port's name
            raise HushwordError(
                "no debug permission: allow it first with "
                "'hushword privacy --port %s allow-debug SECONDS'" % dev.port
            ) from None
        raise


def run(args):
    if args.seconds < 1 or args.seconds > 600:
        raise HushwordError("--seconds must be 1..600")
    if not link_fits(args.codec, args.baud) and not args.force:
        raise HushwordError(
            f"{args.codec} needs {bytes_per_second(args.codec)} bytes/s, more than {args.baud} "
            f"baud carries; use --codec adpcm or a baud rate >= {PCM16_MIN_BAUD} (or --force)"
        )
    tty = not args.quiet and sys.stderr.isatty()

    def show(rec, corrupt):
        sys.stderr.write(
            f"\r{meter(rec.last_level)} {rec.last_level:6.1f} dBFS  {rec.seconds():5.1f} s  "
            f"lost {rec.lost}  corrupt {corrupt} "
        )
        sys.stderr.flush()

    dev = Device(args.port, args.baud)
    try:
        rec, corrupt, close, granted_ms, error = _record_or_explain(
            dev, args.codec, args.seconds, show if tty else None
        )
    finally:
        dev.close()
    if tty:
        sys.stderr.write("\n")
    if error is not None:
        if rec.frames:
            write_wav(args.output, rec.pcm)
            raise HushwordError(
                f"{error}; kept the {rec.seconds():.2f} s received in {args.output}"
            )
        raise error
    write_wav(args.output, rec.pcm)
    summary = {
        "file": str(args.output),
        "codec": args.codec,
        "seconds": round(rec.seconds(), 3),
        "granted_ms": granted_ms,
        "frames": rec.frames,
        "lost": rec.lost,
        "corrupt": corrupt,
        "ended": (close or {}).get("reason"),
        "complete": close is not None or granted_ms / 1000 - rec.seconds() <= 0.1,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"wrote {args.output}: {summary['seconds']:.2f} s, {rec.frames} frames, "
            f"lost {rec.lost}, corrupt {corrupt}"
            + (f" (stream ended: {summary['ended']})" if summary["ended"] else "")
        )
    if close is None and rec.frames == 0:
        raise HushwordError("no audio arrived from the board")
    if not summary["complete"]:
        # No gap in the sequence numbers, but the stream did not finish in time: the link
        # carried less than the codec needs (e.g. pcm16 --force at 115200 baud).
        print(
            f"hushword: warning: the stream did not finish: {rec.seconds():.2f} s of the "
            f"{granted_ms / 1000:.2f} s granted arrived in time"
            + ("" if link_fits(args.codec, args.baud) else f" ({args.codec} is too fast for "
               f"{args.baud} baud: use --codec adpcm)"),
            file=sys.stderr,
        )  # fmt: skip
    return 0
