from array import array

from _compat import IS_MICROPYTHON, skip
from hushword import frontend as fe


def _rand(seed):
    # xorshift32: the same pseudo-random numbers under CPython and MicroPython
    s = seed

    def nxt():
        nonlocal s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        return s

    return nxt


def _hops(n, seed=1):
    rnd = _rand(seed)
    amps = (0, 1, 40, 3000, 32767)
    out = []
    for i in range(n):
        a = amps[i % len(amps)]
        out.append(array("h", [((rnd() & 0xFFFF) - 32768) * a // 32768 for _ in range(fe.HOP)]))
    return out


def _run(f, hops, out_type="bytearray"):
    res = []
    out = bytearray(fe.N_MELS) if out_type == "bytearray" else array("b", [0] * fe.N_MELS)
    for h in hops:
        f.process(h, out)
        res.append(bytes(out))
    return res


def test_constants():
    assert (fe.HOP, fe.WINDOW, fe.FFT_SIZE, fe.N_MELS, fe.SAMPLE_RATE) == (
        320,
        480,
        512,
        32,
        16000,
    )
    assert fe.SETTINGS["hop"] == fe.HOP and fe.FRAMES_PER_S == 50
    assert len(fe.HANN_Q15) == 240 and len(fe.SIN_Q15) == 385 and len(fe.MEL_SEG) == 242


def test_viper_twin_identical_on_random_input():
    if not IS_MICROPYTHON:
        skip("viper kernels exist only under MicroPython")
    hops = _hops(15)
    assert _run(fe.Frontend(use_viper=True), hops) == _run(fe.Frontend(use_viper=False), hops)


def test_output_types_agree():
    hops = _hops(6, seed=7)
    assert _run(fe.Frontend(), hops, "bytearray") == _run(fe.Frontend(), hops, "array")


def test_gain_of_two_power_is_invisible():
    # Scaling by 4 moves every log-mel and floor by exactly 64: features must not change.
    rnd = _rand(3)
    base = []
    for i in range(12):
        a = 2000 if 4 <= i < 8 else 200
        base.append(array("h", [((rnd() & 0xFFFF) - 32768) * a // 32768 for _ in range(fe.HOP)]))
    loud = [array("h", [v * 4 for v in h]) for h in base]
    assert _run(fe.Frontend(), base) == _run(fe.Frontend(), loud)


def test_silence_and_full_scale_are_in_range():
    f = fe.Frontend()
    out = bytearray(fe.N_MELS)
    f.process(array("h", [0] * fe.HOP), out)
    assert set(out) == {128}  # -128: digital silence sits under the lowest floor
    f.process(array("h", [32767, -32768] * (fe.HOP // 2)), out)
    assert max(out) <= 255 and f.frames == 2


def test_tone_lands_in_its_mel_band():
    import math

    f = fe.Frontend()
    out = bytearray(fe.N_MELS)
    for i in range(3):
        f.process(array("h", [0] * fe.HOP), out)
    for i in range(3):
        f.process(
            array(
                "h",
                [
                    int(8000 * math.sin(2 * math.pi * 1000 * (i * 320 + n) / 16000))
                    for n in range(fe.HOP)
                ],
            ),
            out,
        )
    feats = [v - 256 if v > 127 else v for v in out]
    peak = feats.index(max(feats))
    assert 10 <= peak <= 14, (peak, feats)  # 1 kHz is band ~12 of 32 (60-7600 Hz mel)


def test_no_allocation_per_frame():
    if not IS_MICROPYTHON:
        skip("allocation is measured with gc.mem_alloc under MicroPython")
    import gc

    f = fe.Frontend()
    out = bytearray(fe.N_MELS)
    hop = _hops(2)[1]
    f.process(hop, out)
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(20):
        f.process(hop, out)
    assert gc.mem_alloc() - before == 0
