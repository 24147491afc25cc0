"""Audio augmentation in float32 at 16 kHz: noise, rooms, gain. Pure numpy, seeded."""

import numpy as np

RATE = 16000


def colored_noise(rng, n, kind):
    """White, pink (1/f) or brown (1/f^2) noise with unit RMS."""
    white = rng.standard_normal(n).astype(np.float32)
    if kind == "white":
        x = white
    else:
        spec = np.fft.rfft(white)
        f = np.arange(len(spec), dtype=np.float32)
        f[0] = 1.0
        spec /= np.sqrt(f) if kind == "pink" else f
        x = np.fft.irfft(spec, n).astype(np.float32)
    return x / (np.sqrt(np.mean(x * x)) + 1e-9)


def tones(rng, n):
    """Music-like audio: a sequence of chords with harmonics and note envelopes."""
    x = np.zeros(n, np.float32)
    t = np.arange(n, dtype=np.float32) / RATE
    pos = 0
    while pos < n:
        dur = int(rng.uniform(0.15, 0.8) * RATE)
        seg = slice(pos, min(n, pos + dur))
        tt = t[seg] - t[pos]
        env = np.exp(-tt * rng.uniform(1, 8)).astype(np.float32)
        for _ in range(int(rng.integers(1, 4))):
            f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12.0)
            for h in range(1, int(rng.integers(2, 6))):
                x[seg] += env * np.sin(2 * np.pi * f0 * h * tt + rng.uniform(0, 6)) / h
        pos += dur
    return x / (np.sqrt(np.mean(x * x)) + 1e-9)


def background(rng, n):
    """Non-speech background: one of noise colours, tones, hum, or near-silence."""
    kind = rng.choice(
        ["white", "pink", "brown", "tones", "hum", "silence"], p=[0.15, 0.25, 0.2, 0.2, 0.1, 0.1]
    )
    if kind == "tones":
        return tones(rng, n)
    if kind == "hum":
        t = np.arange(n) / RATE
        f = rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * np.pi * f * h * t) / h for h in range(1, 6)).astype(np.float32)
        x += 0.3 * colored_noise(rng, n, "pink")
        return x / (np.sqrt(np.mean(x * x)) + 1e-9)
    if kind == "silence":
        return 0.02 * colored_noise(rng, n, "white")
    return colored_noise(rng, n, kind)


def reverb(rng, x):
    """Convolve with an exponentially decaying noise impulse response (a synthetic room)."""
    rt60 = rng.uniform(0.15, 0.9)
    n = int(rt60 * RATE)
    t = np.arange(n, dtype=np.float32) / RATE
    ir = rng.standard_normal(n).astype(np.float32) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0 / rng.uniform(0.3, 1.0)  # direct path vs. reverberant energy
    ir /= np.sqrt(np.sum(ir * ir))
    m = len(x) + n - 1
    size = 1 << (m - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: len(x)]
    return y.astype(np.float32)


def rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-9)


def mix_at_snr(speech, noise, snr_db):
    return speech + noise * (rms(speech) / rms(noise)) * 10 ** (-snr_db / 20.0)


def to_int16(x):
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def level(rng, x, lo_db=-20.0, hi_db=6.0, ref=3000.0):
    """Scale to a random level around a normal talking RMS (ref), -20..+6 dB."""
    g = 10 ** (rng.uniform(lo_db, hi_db) / 20.0)
    return x * (ref * g / rms(x))


def tilted_noise(rng, n, lo=-1.0, hi=2.5):
    """Noise whose power falls as f**-a for a random a in [lo, hi]: every colour between
    blue-ish and beyond brown, not only the three named ones."""
    spec = np.fft.rfft(rng.standard_normal(n).astype(np.float32))
    f = np.arange(len(spec), dtype=np.float32)
    f[0] = 1.0
    x = np.fft.irfft(spec / f ** (rng.uniform(lo, hi) / 2.0), n).astype(np.float32)
    return x / (np.sqrt(np.mean(x * x)) + 1e-9)


def train_background(rng, n):
    """Training backgrounds: those of `background` plus noise of any spectral tilt, sometimes
    two of them layered. (Held-out audio keeps to `background`, so it stays reproducible.)"""
    r = rng.random()
    if r < 0.3:
        x = tilted_noise(rng, n)
    else:
        x = background(rng, n)
    if rng.random() < 0.2:
        x = x + float(rng.uniform(0.2, 1.0)) * background(rng, n)
        x = x / (np.sqrt(np.mean(x * x)) + 1e-9)
    return x


def eq(rng, x, max_db=8.0):
    """A random smooth frequency response (a few cosines over log frequency, up to +-max_db):
    another microphone, loudspeaker or synthesiser's colour on the same speech."""
    size = 1 << (len(x) - 1).bit_length()
    spec = np.fft.rfft(x, size)
    f = np.linspace(0.0, 1.0, len(spec), dtype=np.float32)
    lf = np.log2(1.0 + 63.0 * f) / 6.0  # 0..1, roughly octaves
    db = np.zeros_like(lf)
    for k in range(1, 4):
        db += rng.uniform(-1, 1) * np.cos(np.pi * k * lf + rng.uniform(0, 2 * np.pi))
    db *= max_db / max(1.0, float(np.abs(db).max()))
    y = np.fft.irfft(spec * 10 ** (db / 20.0), size)[: len(x)].astype(np.float32)
    return y * (rms(x) / rms(y))
