"""IMA-ADPCM (4 bits per sample) for the debug audio stream: 16 kHz PCM16 at 8 kB/s fits a
115200-baud link with room for framing and events.

Block format (one per serial frame, each block decodes on its own, so a lost frame costs only
its own samples): predictor (int16 LE), step index (u8), reserved (u8), then one nibble per
sample, low nibble first (the IMA/DVI order used by WAV files).

``encode_block`` is the device path: viper on MicroPython, with ``encode_block_py`` as its
plain twin (CPython, and tests that hold the two together). Both allocate nothing; the caller
owns the output buffer. ``decode_block`` is for the host and for tests.
"""

# Clamps are written as ifs: no call overhead in the per-sample loop, same shape as the viper twin.
# ruff: noqa: PLR1730

import struct

try:
    import micropython
    from micropython import const
except ImportError:  # CPython
    micropython = None

    def const(x):
        return x


HEADER = const(4)

STEPS = (
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60,
    66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371,
    408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878,
    2066, 2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845,
    8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086,
    29794, 32767,
)  # fmt: skip
INDEX_SHIFT = (-1, -1, -1, -1, 2, 4, 6, 8)

# Byte tables for viper (it reads bytes/bytearray through ptr8/ptr16, not tuples).
_STEPS_LE = struct.pack("<89H", *STEPS)
_SHIFT_B = bytes((i + 1) for i in INDEX_SHIFT)  # stored +1 so all entries are unsigned


def block_size(nsamples):
    """Bytes of one encoded block of ``nsamples`` samples (nsamples even)."""
    return HEADER + nsamples // 2


class State:
    """Encoder state carried from block to block: predictor and step index.

    Kept in a small preallocated array so the viper encoder can update it in place.
    """

    def __init__(self):
        import array

        self.a = array.array("i", [0, 0])

    def reset(self):
        self.a[0] = 0
        self.a[1] = 0


def encode_block_py(pcm, nsamples, out, state):
    """Encode ``nsamples`` int16 LE samples from ``pcm`` (bytes-like) into ``out``.

    Writes ``block_size(nsamples)`` bytes and returns that count. ``state`` (State) carries
    the predictor across blocks; the header records it so each block decodes alone.
    """
    st = state.a
    pred = st[0]
    index = st[1]
    out[0] = pred & 0xFF
    out[1] = (pred >> 8) & 0xFF
    out[2] = index
    out[3] = 0
    o = HEADER
    steps = STEPS
    shift = INDEX_SHIFT
    for i in range(nsamples):
        s = pcm[2 * i] | (pcm[2 * i + 1] << 8)
        if s & 0x8000:
            s -= 0x10000
        step = steps[index]
        diff = s - pred
        code = 0
        if diff < 0:
            code = 8
            diff = -diff
        delta = step >> 3
        if diff >= step:
            code |= 4
            diff -= step
            delta += step
        step >>= 1
        if diff >= step:
            code |= 2
            diff -= step
            delta += step
        step >>= 1
        if diff >= step:
            code |= 1
            delta += step
        if code & 8:
            pred -= delta
            if pred < -32768:
                pred = -32768
        else:
            pred += delta
            if pred > 32767:
                pred = 32767
        index += shift[code & 7]
        if index < 0:
            index = 0
        elif index > 88:
            index = 88
        if i & 1:
            out[o] |= code << 4
            o += 1
        else:
            out[o] = code
    st[0] = pred
    st[1] = index
    return HEADER + nsamples // 2


if micropython is not None and hasattr(micropython, "viper"):

    @micropython.viper
    def _encode_viper(pcm, nsamples: int, out, st, steps, shift) -> int:
        src = ptr16(pcm)  # noqa: F821 - viper builtin
        dst = ptr8(out)  # noqa: F821
        sp = ptr32(st)  # noqa: F821
        stp = ptr16(steps)  # noqa: F821
        shp = ptr8(shift)  # noqa: F821
        pred = int(sp[0])
        index = int(sp[1])
        dst[0] = pred & 0xFF
        dst[1] = (pred >> 8) & 0xFF
        dst[2] = index
        dst[3] = 0
        o = 4
        i = 0
        while i < nsamples:
            s = int(src[i])
            if s & 0x8000:
                s -= 0x10000
            step = int(stp[index])
            diff = s - pred
            code = 0
            if diff < 0:
                code = 8
                diff = 0 - diff
            delta = step >> 3
            if diff >= step:
                code |= 4
                diff -= step
                delta += step
            step >>= 1
            if diff >= step:
                code |= 2
                diff -= step
                delta += step
            step >>= 1
            if diff >= step:
                code |= 1
                delta += step
            if code & 8:
                pred -= delta
                if pred < -32768:
                    pred = -32768
            else:
                pred += delta
                if pred > 32767:
                    pred = 32767
            index += int(shp[code & 7]) - 1
            if index < 0:
                index = 0
            elif index > 88:
                index = 88
            if i & 1:
                dst[o] = dst[o] | (code << 4)
                o += 1
            else:
                dst[o] = code
            i += 1
        sp[0] = pred
        sp[1] = index
        return o

    def encode_block(pcm, nsamples, out, state):
        """Viper encoder; same contract and output as ``encode_block_py``."""
        return _encode_viper(pcm, nsamples, out, state.a, _STEPS_LE, _SHIFT_B)

else:
    encode_block = encode_block_py


def decode_block(block, out=None):
    """Decode one block to int16 LE bytes (returns a bytearray). Host and tests only."""
    pred, index = struct.unpack_from("<hB", block, 0)
    if index > 88:
        raise ValueError(f"bad ADPCM step index {index}")
    n = (len(block) - HEADER) * 2
    if out is None:
        out = bytearray(2 * n)
    steps = STEPS
    shift = INDEX_SHIFT
    j = 0
    for k in range(HEADER, len(block)):
        byte = block[k]
        for code in (byte & 15, byte >> 4):
            step = steps[index]
            delta = step >> 3
            if code & 4:
                delta += step
            if code & 2:
                delta += step >> 1
            if code & 1:
                delta += step >> 2
            if code & 8:
                pred -= delta
                if pred < -32768:
                    pred = -32768
            else:
                pred += delta
                if pred > 32767:
                    pred = 32767
            index += shift[code & 7]
            if index < 0:
                index = 0
            elif index > 88:
                index = 88
            out[j] = pred & 0xFF
            out[j + 1] = (pred >> 8) & 0xFF
            j += 2
    return out
