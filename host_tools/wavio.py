"""Read WAV files as 16 kHz mono int16, with clear errors and a notice when converting."""

import os
import stat
import wave

import numpy as np

from host_tools.errors import HushwordError

RATE = 16000


# WAVE format tags this reader decodes (WAVE_FORMAT_EXTENSIBLE names one of them in its
# sub-format); the others get an error that says what to convert to.
PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
_OTHER_FORMATS = {2: "ADPCM", 6: "A-law", 7: "mu-law", 0x11: "IMA ADPCM", 0x55: "MP3"}
# A data chunk size a streaming writer leaves when it cannot seek back: "up to the end".
_STREAMING_SIZES = (0, 0xFFFFFFFF)


def _chunks(path, raw):
    """{chunk id: bytes} of a RIFF/WAVE file (first of each id); a data chunk that claims
    more than the file holds is returned short, with its claimed size under b"data-size"."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        what = "an RF64 file (over 4 GB)" if raw[:4] == b"RF64" else "no RIFF/WAVE header"
        raise HushwordError("%s: not a readable WAV file (%s)" % (path, what))
    out, pos = {}, 12
    while pos + 8 <= len(raw):
        cid, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        body = raw[pos + 8 : pos + 8 + size]
        if cid == b"data":
            if size in _STREAMING_SIZES:
                body = raw[pos + 8 :]
                size = len(body)
            out.setdefault(b"data", body)
            out.setdefault(b"data-size", size)
            if b"fmt " in out:
                break
        else:
            out.setdefault(cid, body)
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    return out


def _format(path, fmt):
    """(tag PCM|FLOAT, channels, rate, bytes per sample) from a fmt chunk."""
    if len(fmt) < 16:
        raise HushwordError("%s: not a readable WAV file (fmt chunk too short)" % path)
    tag, ch, rate = (
        int.from_bytes(fmt[0:2], "little"),
        int.from_bytes(fmt[2:4], "little"),
        int.from_bytes(fmt[4:8], "little"),
    )
    bits = int.from_bytes(fmt[14:16], "little")
    if tag == EXTENSIBLE:
        if len(fmt) < 26:
            raise HushwordError("%s: not a readable WAV file (extensible fmt too short)" % path)
        tag = int.from_bytes(fmt[24:26], "little")  # first two bytes of the sub-format GUID
    if tag not in (PCM, FLOAT):
        name = _OTHER_FORMATS.get(tag, "format tag %d" % tag)
        raise HushwordError(
            "%s: %s WAV is not supported; convert it to PCM, e.g. "
            "sox IN.wav -e signed-integer -b 16 OUT.wav" % (path, name)
        )
    width = (bits + 7) // 8
    if (
        ch < 1
        or rate < 1000
        or (tag == PCM and width not in (1, 2, 3, 4))
        or (tag == FLOAT and width not in (4, 8))
    ):
        raise HushwordError(
            "%s: not a readable WAV file (%d channels, %d Hz, %d-bit %s)"
            % (path, ch, rate, bits, "float" if tag == FLOAT else "PCM")
        )
    return tag, ch, rate, width


def _decode(tag, width, data):
    """Samples as float64 on the int16 scale."""
    if tag == FLOAT:
        x = np.frombuffer(data, "<f4" if width == 4 else "<f8").astype(np.float64) * 32768
        return np.nan_to_num(x, nan=0.0, posinf=32767.0, neginf=-32768.0)
    if width == 1:
        return (np.frombuffer(data, np.uint8).astype(np.float64) - 128) * 256
    if width == 2:
        return np.frombuffer(data, "<i2").astype(np.float64)
    if width == 3:
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        return ((b[:, 0] << 8 | b[:, 1] << 16 | b[:, 2] << 24) >> 8).astype(np.float64) / 256
    return np.frombuffer(data, "<i4").astype(np.float64) / 65536


def find(directory):
    """The .wav files under `directory` (subdirectories too), sorted."""
    return sorted(
        os.path.join(dp, f)
        for dp, _, fs in os.walk(directory)
        for f in fs
        if f.lower().endswith(".wav")
    )


def read(path, notice=None):
    """Return np.int16 mono samples at 16 kHz. Other rates, channel counts, sample widths and
    float samples (WAVE_FORMAT_EXTENSIBLE too) are converted and ``notice(message)`` is
    called once; unreadable input raises HushwordError naming the file."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            # /dev/zero would be read until memory ran out, a FIFO would wait forever.
            raise HushwordError("%s: not a regular file" % path)
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) == 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
                raw = head + f.read()
            else:
                raw = head  # _chunks names what is wrong with it
    except FileNotFoundError:
        raise HushwordError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise HushwordError("%s: is a directory" % path) from None
    except OSError as e:
        raise HushwordError("%s: cannot read (%s)" % (path, e.strerror or e)) from None
    chunks = _chunks(path, raw)
    if b"fmt " not in chunks:
        raise HushwordError("%s: not a readable WAV file (no fmt chunk)" % path)
    tag, ch, rate, width = _format(path, chunks[b"fmt "])
    data, claimed = chunks.get(b"data", b""), chunks.get(b"data-size", 0)
    frame = ch * width
    if len(data) < frame:
        raise HushwordError("%s: WAV file has no audio" % path)
    if len(data) < claimed:
        raise HushwordError(
            "%s: truncated WAV (%d of %d bytes of audio)" % (path, len(data), claimed)
        )
    data = data[: len(data) // frame * frame]
    if tag == PCM and width == 2 and ch == 1 and rate == RATE:
        return np.frombuffer(data, "<i2").astype(np.int16)
    x = _decode(tag, width, data).reshape(-1, ch)
    changes = []
    if ch != 1:
        changes.append("%d channels -> mono" % ch)
        x = x.mean(axis=1)
    else:
        x = x[:, 0]
    if rate != RATE:
        changes.append("%d Hz -> %d Hz" % (rate, RATE))
        x = resample(x, rate, RATE)
    if tag == FLOAT or width != 2:
        changes.append("%d-bit%s -> 16-bit" % (8 * width, " float" if tag == FLOAT else ""))
    if notice:
        notice("%s: converted %s" % (path, ", ".join(changes)))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def resample(x, src, dst):
    """Band-limited resampling (windowed-sinc low-pass when downsampling, then linear
    interpolation); plenty for keyword detection."""
    if src > dst:
        cut = 0.45 * dst / src
        taps = np.arange(-32, 33)
        h = 2 * cut * np.sinc(2 * cut * taps) * np.hamming(len(taps))
        x = np.convolve(x, h / h.sum(), mode="same")
    n = int(round(len(x) * dst / src))
    t = np.arange(n) * (src / dst)
    return np.interp(t, np.arange(len(x)), x)


def write(path, samples, rate=RATE):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, "<i2").tobytes())
