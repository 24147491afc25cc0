"""Read WAV files as 16 kHz mono int16, with clear errors and a notice when converting."""

import wave

import numpy as np

from host_tools.errors import HushwordError

RATE = 16000


def read(path, notice=None):
    """Return np.int16 mono samples at 16 kHz. Other rates/channels/widths are converted and
    ``notice(message)`` is called once; unreadable input raises HushwordError naming the file."""
    try:
        with wave.open(str(path), "rb") as w:
            ch, width, rate, n = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            data = w.readframes(n)
    except FileNotFoundError:
        raise HushwordError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise HushwordError("%s: is a directory" % path) from None
    except (wave.Error, EOFError) as e:
        raise HushwordError(
            "%s: not a readable WAV file (%s)" % (path, e or "file too short")
        ) from None
    except OSError as e:
        raise HushwordError("%s: cannot read (%s)" % (path, e.strerror or e)) from None
    if n == 0 or not data:
        raise HushwordError("%s: WAV file has no audio" % path)
    if len(data) < n * ch * width:
        raise HushwordError(
            "%s: truncated WAV (%d of %d bytes of audio)" % (path, len(data), n * ch * width)
        )
    if width == 1:
        x = (np.frombuffer(data, np.uint8).astype(np.float64) - 128) * 256
    elif width == 2:
        x = np.frombuffer(data, "<i2").astype(np.float64)
    elif width == 3:
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] << 8 | b[:, 1] << 16 | b[:, 2] << 24) >> 8).astype(np.float64) / 256
    elif width == 4:
        x = np.frombuffer(data, "<i4").astype(np.float64) / 65536
    else:
        raise HushwordError("%s: unsupported sample width %d bytes" % (path, width))
    x = x.reshape(-1, ch)
    changes = []
    if ch != 1:
        changes.append("%d channels -> mono" % ch)
        x = x.mean(axis=1)
    else:
        x = x[:, 0]
    if rate != RATE:
        changes.append("%d Hz -> %d Hz" % (rate, RATE))
        x = resample(x, rate, RATE)
    if width != 2:
        changes.append("%d-bit -> 16-bit" % (8 * width))
    if changes and notice:
        notice("%s: converted %s" % (path, ", ".join(changes)))
    if width == 2 and ch == 1 and rate == RATE:
        return np.frombuffer(data, "<i2").astype(np.int16)
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
