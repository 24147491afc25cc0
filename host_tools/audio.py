"""WAV input for host tools: 16 kHz mono int16, or a clear one-line error naming the file."""

import sys
import wave

import numpy as np

from host_tools.errors import HushwordError

RATE = 16000


def read_wav_int16(path, notice=True):
    """Return int16 samples at 16 kHz mono. Other rates/channels/widths are converted with a
    notice on stderr; empty, truncated or non-WAV files raise HushwordError."""
    try:
        with wave.open(str(path), "rb") as w:
            ch, width, rate, n = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            raw = w.readframes(n)
    except FileNotFoundError:
        raise HushwordError("%s: no such file" % path) from None
    except (wave.Error, EOFError) as e:
        raise HushwordError(
            "%s: not a readable WAV file (%s); convert it with: sox IN -r 16000 -c 1 -b 16 OUT.wav"
            % (path, e)
        ) from None
    except OSError as e:
        raise HushwordError("%s: %s" % (path, e.strerror or e)) from None
    if width not in (1, 2, 3, 4):
        raise HushwordError("%s: unsupported sample width %d bytes" % (path, width))
    frames = len(raw) // (width * ch)
    if frames == 0:
        raise HushwordError("%s: the WAV file holds no audio" % path)
    if frames < n:
        print(
            "hushword: notice: %s is truncated (%d of %d frames)" % (path, frames, n),
            file=sys.stderr,
        )
    raw = raw[: frames * width * ch]
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.int32) - 128) << 8
    elif width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.int32)
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8) >> 16
    else:
        x = np.frombuffer(raw, "<i4").astype(np.int64) >> 16
    x = x.reshape(-1, ch)
    changed = []
    if ch > 1:
        x = x.mean(axis=1)
        changed.append("%d channels -> mono" % ch)
    else:
        x = x[:, 0]
    if width != 2:
        changed.append("%d-bit -> 16-bit" % (8 * width))
    if rate != RATE:
        x = resample(np.asarray(x, np.float64), rate, RATE)
        changed.append("%d Hz -> %d Hz" % (rate, RATE))
    if changed and notice:
        print("hushword: notice: %s converted (%s)" % (path, ", ".join(changed)), file=sys.stderr)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def resample(x, src, dst):
    """Band-limited resampling by windowed-sinc interpolation (good enough for speech)."""
    if src == dst:
        return x
    n_out = int(round(len(x) * dst / src))
    t = np.arange(n_out) * (src / dst)
    cutoff = min(1.0, dst / src)
    half = 16
    out = np.zeros(n_out)
    base = np.floor(t).astype(np.int64)
    for k in range(-half + 1, half + 1):
        idx = base + k
        valid = (idx >= 0) & (idx < len(x))
        d = t - idx
        w = cutoff * np.sinc(cutoff * d) * (0.5 + 0.5 * np.cos(np.pi * d / half))
        out[valid] += x[idx[valid]] * w[valid]
    return out


def write_wav_int16(path, samples, rate=RATE):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, "<i2").tobytes())
