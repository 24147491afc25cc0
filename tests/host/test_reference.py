import sys
from array import array

import numpy as np
import pytest

from host_tools import reference as ref
from host_tools.paths import FIRMWARE

sys.path.insert(0, str(FIRMWARE))
from hushword.frontend import Frontend


def _speechlike(seed=0, seconds=3.0):
    """Sine sweeps, harmonic 'vowels' with a pitch glide, noise bursts, silence, a click."""
    rng = np.random.default_rng(seed)
    sr = 16000
    t = np.arange(int(sr * seconds)) / sr
    x = 3000 * np.sin(2 * np.pi * (100 + 2500 * t / seconds) * t)
    f0 = 120 + 40 * np.sin(2 * np.pi * 3 * t)
    ph = 2 * np.pi * np.cumsum(f0) / sr
    vowel = sum(np.sin(h * ph) / h for h in range(1, 20)) * 4000
    env = (np.sin(2 * np.pi * 4 * t) > 0.2).astype(float)
    x += vowel * env
    burst = rng.normal(0, 2500, len(t)) * ((t % 0.7) < 0.08)
    x += burst + rng.normal(0, 20, len(t))
    x[int(0.5 * sr) : int(0.8 * sr)] = 0
    x[int(1.5 * sr)] = 32767
    return np.clip(x, -32768, 32767).astype(np.int16)


def _random(seed=1, n=60):
    rng = np.random.default_rng(seed)
    amps = np.repeat(rng.choice([0, 1, 30, 500, 8000, 40000], n), 320)
    return np.clip(rng.normal(0, 1, n * 320) * amps, -32768, 32767).astype(np.int16)


def _firmware_features(x):
    f = Frontend()
    out = array("b", [0] * 32)
    res = []
    for i in range(len(x) // 320):
        f.process(array("h", x[i * 320 : (i + 1) * 320].tobytes()), out)
        res.append(list(out))
    return np.array(res, dtype=np.int8).reshape(-1, 32)


@pytest.mark.parametrize("make", [_random, _speechlike])
def test_features_bit_exact_with_firmware_cpython(make):
    x = make()[: 320 * 60 + 123]  # a partial last hop is ignored, as on the device
    got = ref.features(x)
    assert got.dtype == np.int8 and got.shape == (60, 32)
    assert np.array_equal(got, _firmware_features(x))


def test_features_bit_exact_with_firmware_under_micropython():
    if not ref.micropython_exe():
        pytest.skip("micropython interpreter not installed")
    x = np.concatenate([_random(5), _speechlike(6, seconds=2.0)])
    assert np.array_equal(ref.features(x), ref.run_micropython(x, "features"))


def test_features_short_and_empty_input():
    assert ref.features(np.zeros(100, np.int16)).shape == (0, 32)
    assert ref.features(np.zeros(320, np.int16)).shape == (1, 32)


def test_features_gain_invariant_in_noise():
    noise = np.random.default_rng(3).normal(0, 300, 48000)
    x = _speechlike(2).astype(np.int32) + noise.astype(np.int32)
    quiet = ref.features((x // 8).astype(np.int16))
    loud = ref.features((x // 2).astype(np.int16))
    # x4 louder: identical where nothing clips or hits the lowest floor
    assert np.mean(np.abs(quiet.astype(int) - loud.astype(int))) < 2
