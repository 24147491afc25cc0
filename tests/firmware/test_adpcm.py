import struct

from _compat import IS_MICROPYTHON, skip
from hushword import adpcm

N = 320  # one 20 ms hop at 16 kHz


def _tone(n, amp=8000, period=37, start=0):
    # Integer triangle wave plus a little deterministic noise: no math module needed.
    out = bytearray(2 * n)
    seed = 12345
    for i in range(n):
        ph = (i + start) % period
        v = (
            (4 * amp * ph) // period - amp
            if ph < period // 2
            else amp - (4 * amp * (ph - period // 2)) // period
        )
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        v += (seed >> 16) % 200 - 100
        v = max(-32768, min(32767, v))
        struct.pack_into("<h", out, 2 * i, v)
    return out


def _snr_db(ref, got):
    sig = err = 0
    for i in range(0, len(ref), 2):
        a = struct.unpack_from("<h", ref, i)[0]
        b = struct.unpack_from("<h", got, i)[0]
        sig += a * a
        err += (a - b) * (a - b)
    if err == 0:
        return 99.0
    # 10*log10 without math: count factors of 10 and refine.
    r = sig / err
    db = 0.0
    while r >= 10:
        r /= 10
        db += 10
    return db + (r - 1) * 4.3  # rough, monotonic; good enough for a floor check


def test_block_size():
    assert adpcm.block_size(N) == 4 + 160


def test_roundtrip_quality_and_independent_blocks():
    pcm = _tone(N * 4)
    st = adpcm.State()
    out = bytearray(adpcm.block_size(N))
    dec = bytearray()
    for k in range(4):
        n = adpcm.encode_block_py(memoryview(pcm)[2 * N * k : 2 * N * (k + 1)], N, out, st)
        assert n == len(out)
        dec += adpcm.decode_block(out)
    assert len(dec) == len(pcm)
    # Skip the first block (the step size adapts from the minimum).
    assert _snr_db(pcm[2 * N :], dec[2 * N :]) > 18


def test_viper_twin_matches_plain():
    pcm = _tone(N * 6, amp=20000, period=11)
    # Extremes exercise clamping of predictor and step index.
    for i in range(0, 40, 2):
        struct.pack_into("<h", pcm, 400 + i, 32767 if i % 4 else -32768)
    a, b = adpcm.State(), adpcm.State()
    oa = bytearray(adpcm.block_size(N))
    ob = bytearray(adpcm.block_size(N))
    for k in range(6):
        chunk = memoryview(pcm)[2 * N * k : 2 * N * (k + 1)]
        na = adpcm.encode_block_py(chunk, N, oa, a)
        nb = adpcm.encode_block(chunk, N, ob, b)
        assert na == nb
        assert oa == ob, f"block {k} differs"
        assert list(a.a) == list(b.a)


def test_silence_is_silence():
    st = adpcm.State()
    out = bytearray(adpcm.block_size(N))
    adpcm.encode_block(bytearray(2 * N), N, out, st)
    assert adpcm.decode_block(out) == bytearray(2 * N)


def test_matches_standard_ima_encoder():
    # CPython's audioop implements IMA/DVI ADPCM (high nibble first); hold ours against it.
    if IS_MICROPYTHON:
        skip("audioop is CPython only")
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import audioop
    except ImportError:
        skip("audioop not available on this Python")
    pcm = bytes(_tone(N * 3, amp=12000, period=23))
    st = adpcm.State()
    out = bytearray(adpcm.block_size(N))
    state = None
    for k in range(3):
        chunk = pcm[2 * N * k : 2 * N * (k + 1)]
        adpcm.encode_block_py(chunk, N, out, st)
        ref, state = audioop.lin2adpcm(chunk, 2, state)
        swapped = bytes(((b & 15) << 4) | (b >> 4) for b in ref)
        assert bytes(out[4:]) == swapped
        assert state == (st.a[0], st.a[1])
