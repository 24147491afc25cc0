# ruff: noqa: F821  (viper pointer types exist only inside @micropython.viper)
"""Audio frontend: 16 kHz int16 PCM -> one int8 vector of N_MELS log-mel features per hop.

Integer only, so the device, the tests and the host reference (host_tools/reference.py) agree
bit for bit. The constants below are the one source of truth for feature settings: training
copies them into every model manifest and the model loader refuses a model made for others.

Per hop of HOP new samples, on the last WINDOW samples (FFT_SIZE with zero padding):

1. Hann window (Q15) -> products x*w (< 2^30); block normalisation: shift them so the peak
   is in [2^12, 2^13) and remember the shift ``r`` (the level goes back in at step 4).
2. 512-point real FFT as a 256-point complex FFT of the packed even/odd samples (radix 2,
   Q15 twiddles, every stage halves, floor rounding) plus the split step.
3. Power per bin ``(re^2 + im^2) >> 7``; 32 triangular mel bands (60-7600 Hz) with Q8 weights
   whose two neighbours sum to 256. Every intermediate fits a signed 32-bit word (ESP32 viper).
4. ``L = 16*log2(mel) + 32*r`` in Q4 log2 units (1 unit = 0.19 dB); an all-zero window gives
   ``ZERO_LOG``.
5. Gain normalisation: a per-band noise floor ``F`` (Q8 of L units) falls fast
   (``>> FLOOR_FALL``) and rises slowly (``>> FLOOR_RISE``, ~10 s), never below
   ``FLOOR_MIN``; the feature is ``clamp(((L - (F >> 8)) >> 1) + FEAT_OFFSET, -128, 127)``,
   so a gain change moves L and F together and cancels. 1 feature unit = 0.375 dB above the
   floor.

Hot loops are @micropython.viper under MicroPython, with plain-Python twins (``_*_py``) that
CPython uses and the tests compare against the viper versions.
"""

import sys
from array import array

# @micropython.viper is a compiler directive, not an attribute: test the implementation.
_HAVE_VIPER = sys.implementation.name == "micropython"
if _HAVE_VIPER:
    import micropython

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


SAMPLE_RATE = 16000
WINDOW = 480  # 30 ms
HOP = 320  # 20 ms -> 50 frames/s
FFT_SIZE = 512
N_MELS = 32
MEL_LO_HZ = 60
MEL_HI_HZ = 7600
FRAMES_PER_S = SAMPLE_RATE // HOP
FRONTEND_VERSION = 1  # bump on any change that alters features; models record it

# L of white noise with a standard deviation of ~3 LSB (about -80 dBFS): the lowest floor, so
# digital silence or a very quiet mic does not blow speech up to full scale.
_FLOOR_MIN = const(440)
_ZERO_LOG = const(376)  # an all-zero window: 12 dB under the lowest floor
_FLOOR_FALL = const(3)
_FLOOR_RISE = const(9)
_FEAT_OFFSET = const(-96)  # feature -128..127 = -12..+84 dB around the floor
FLOOR_MIN = _FLOOR_MIN
ZERO_LOG = _ZERO_LOG
FLOOR_FALL = _FLOOR_FALL
FLOOR_RISE = _FLOOR_RISE
FEAT_OFFSET = _FEAT_OFFSET

# Settings a model manifest must match exactly (checked by the loader).
SETTINGS = {
    "sample_rate": SAMPLE_RATE,
    "window": WINDOW,
    "hop": HOP,
    "fft_size": FFT_SIZE,
    "n_mels": N_MELS,
    "mel_lo_hz": MEL_LO_HZ,
    "mel_hi_hz": MEL_HI_HZ,
    "frontend_version": FRONTEND_VERSION,
}

_OVERLAP = const(160)  # WINDOW - HOP
_HALF = const(256)  # complex FFT size
_KLO = const(2)  # first and last FFT bin inside the mel range
_KHI = const(243)

# Tables are literal integers (not computed with floats at import) so that every platform,
# including single-precision ESP32 builds, gets the same bits. They were made with:
#   hann[n] = round(32767 * sin(pi * (n + 0.5) / 480) ** 2), n < 240 (symmetric)
#   sin[k] = round(32767 * sin(2 * pi * k / 512)), k <= 384 (cos[k] = sin[k + 128])
#   mel points: 34 points equally spaced in mel (2595 log10(1 + f / 700)) from 60 to 7600 Hz,
#   in FFT bins p[j]; bin k lies in segment seg[k] = j with p[j] <= k < p[j + 1] and gives
#   w = round(256 (k - p[j]) / (p[j + 1] - p[j])) to band j and 256 - w to band j - 1.
#   log2[f] = round(16 * log2(1 + f / 64)), f < 64
_HANN_Q15 = (
    "0 3 9 17 28 42 59 79 101 127 155 185 219 255 294 336 381 428 478 531 586 645 705 769 "
    "835 904 976 1050 1127 1206 1288 1373 1460 1550 1642 1737 1835 1935 2037 2142 2249 "
    "2359 2471 2585 2702 2821 2942 3066 3192 3321 3451 3584 3719 3856 3995 4137 4280 4426 "
    "4573 4723 4875 5028 5184 5341 5501 5662 5825 5990 6157 6325 6495 6667 6840 7016 7192 "
    "7371 7551 7732 7915 8099 8285 8472 8660 8850 9041 9234 9427 9622 9818 10015 10213 "
    "10412 10612 10814 11016 11219 11423 11628 11833 12040 12247 12455 12663 12872 13082 "
    "13292 13503 13715 13927 14139 14351 14564 14778 14991 15205 15419 15633 15847 16062 "
    "16276 16491 16705 16920 17134 17348 17562 17776 17989 18203 18416 18628 18840 19052 "
    "19264 19475 19685 19895 20104 20312 20520 20727 20934 21139 21344 21548 21751 21953 "
    "22155 22355 22554 22752 22949 23145 23340 23533 23726 23917 24107 24295 24482 24668 "
    "24852 25035 25216 25396 25575 25751 25927 26100 26272 26442 26610 26777 26942 27105 "
    "27266 27426 27583 27739 27892 28044 28194 28341 28487 28630 28772 28911 29048 29183 "
    "29316 29446 29575 29701 29825 29946 30065 30182 30296 30408 30518 30625 30730 30832 "
    "30932 31030 31125 31217 31307 31394 31479 31561 31640 31717 31791 31863 31932 31998 "
    "32062 32122 32181 32236 32289 32339 32386 32431 32473 32512 32548 32582 32612 32640 "
    "32666 32688 32708 32725 32739 32750 32758 32764 32767"
)
_SIN_Q15 = (
    "0 402 804 1206 1608 2009 2410 2811 3212 3612 4011 4410 4808 5205 5602 5998 6393 6786 "
    "7179 7571 7962 8351 8739 9126 9512 9896 10278 10659 11039 11417 11793 12167 12539 "
    "12910 13279 13645 14010 14372 14732 15090 15446 15800 16151 16499 16846 17189 17530 "
    "17869 18204 18537 18868 19195 19519 19841 20159 20475 20787 21096 21403 21705 22005 "
    "22301 22594 22884 23170 23452 23731 24007 24279 24547 24811 25072 25329 25582 25832 "
    "26077 26319 26556 26790 27019 27245 27466 27683 27896 28105 28310 28510 28706 28898 "
    "29085 29268 29447 29621 29791 29956 30117 30273 30424 30571 30714 30852 30985 31113 "
    "31237 31356 31470 31580 31685 31785 31880 31971 32057 32137 32213 32285 32351 32412 "
    "32469 32521 32567 32609 32646 32678 32705 32728 32745 32757 32765 32767 32765 32757 "
    "32745 32728 32705 32678 32646 32609 32567 32521 32469 32412 32351 32285 32213 32137 "
    "32057 31971 31880 31785 31685 31580 31470 31356 31237 31113 30985 30852 30714 30571 "
    "30424 30273 30117 29956 29791 29621 29447 29268 29085 28898 28706 28510 28310 28105 "
    "27896 27683 27466 27245 27019 26790 26556 26319 26077 25832 25582 25329 25072 24811 "
    "24547 24279 24007 23731 23452 23170 22884 22594 22301 22005 21705 21403 21096 20787 "
    "20475 20159 19841 19519 19195 18868 18537 18204 17869 17530 17189 16846 16499 16151 "
    "15800 15446 15090 14732 14372 14010 13645 13279 12910 12539 12167 11793 11417 11039 "
    "10659 10278 9896 9512 9126 8739 8351 7962 7571 7179 6786 6393 5998 5602 5205 4808 "
    "4410 4011 3612 3212 2811 2410 2009 1608 1206 804 402 0 -402 -804 -1206 -1608 -2009 "
    "-2410 -2811 -3212 -3612 -4011 -4410 -4808 -5205 -5602 -5998 -6393 -6786 -7179 -7571 "
    "-7962 -8351 -8739 -9126 -9512 -9896 -10278 -10659 -11039 -11417 -11793 -12167 -12539 "
    "-12910 -13279 -13645 -14010 -14372 -14732 -15090 -15446 -15800 -16151 -16499 -16846 "
    "-17189 -17530 -17869 -18204 -18537 -18868 -19195 -19519 -19841 -20159 -20475 -20787 "
    "-21096 -21403 -21705 -22005 -22301 -22594 -22884 -23170 -23452 -23731 -24007 -24279 "
    "-24547 -24811 -25072 -25329 -25582 -25832 -26077 -26319 -26556 -26790 -27019 -27245 "
    "-27466 -27683 -27896 -28105 -28310 -28510 -28706 -28898 -29085 -29268 -29447 -29621 "
    "-29791 -29956 -30117 -30273 -30424 -30571 -30714 -30852 -30985 -31113 -31237 -31356 "
    "-31470 -31580 -31685 -31785 -31880 -31971 -32057 -32137 -32213 -32285 -32351 -32412 "
    "-32469 -32521 -32567 -32609 -32646 -32678 -32705 -32728 -32745 -32757 -32765 -32767"
)
_MEL_SEG = (
    "0 0 1 1 2 2 3 3 3 4 4 5 5 5 6 6 7 7 7 7 8 8 8 9 9 9 10 10 10 10 11 11 11 11 12 12 12 "
    "12 13 13 13 13 13 14 14 14 14 14 15 15 15 15 15 15 16 16 16 16 16 17 17 17 17 17 17 "
    "17 18 18 18 18 18 18 19 19 19 19 19 19 19 19 20 20 20 20 20 20 20 21 21 21 21 21 21 "
    "21 21 21 22 22 22 22 22 22 22 22 22 23 23 23 23 23 23 23 23 23 24 24 24 24 24 24 24 "
    "24 24 24 24 25 25 25 25 25 25 25 25 25 25 25 26 26 26 26 26 26 26 26 26 26 26 26 27 "
    "27 27 27 27 27 27 27 27 27 27 27 27 28 28 28 28 28 28 28 28 28 28 28 28 28 28 29 29 "
    "29 29 29 29 29 29 29 29 29 29 29 29 29 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 "
    "30 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 32 32 32 32 32 32 32 32 32 32 "
    "32 32 32 32 32 32 32 32 32"
)
_MEL_W = (
    "11 151 33 163 35 156 20 133 245 95 200 45 143 240 76 167 1 86 170 255 77 156 234 53 "
    "126 199 14 82 150 218 28 91 154 217 23 82 140 199 2 56 111 166 220 17 68 119 170 221 "
    "14 62 109 156 203 251 39 83 127 171 215 3 44 84 125 166 207 248 31 69 107 145 183 "
    "221 3 38 73 109 144 179 215 250 27 60 93 126 159 192 225 2 32 63 93 124 155 185 216 "
    "246 20 48 76 105 133 162 190 219 247 18 45 71 98 124 151 177 204 230 1 25 50 74 99 "
    "124 148 173 198 222 247 14 37 60 83 106 129 152 175 198 220 243 10 31 52 73 95 116 "
    "137 159 180 201 223 244 9 28 48 68 88 108 127 147 167 187 207 226 246 9 28 46 65 83 "
    "102 120 138 157 175 194 212 231 249 11 28 45 62 79 96 113 131 148 165 182 199 216 "
    "233 251 11 27 43 59 75 91 107 122 138 154 170 186 202 218 234 250 9 24 39 54 69 83 "
    "98 113 128 143 158 172 187 202 217 232 247 5 19 33 46 60 74 88 102 115 129 143 157 "
    "170 184 198 212 226 239 253"
)
_LOG2_Q4 = (
    "0 0 1 1 1 2 2 2 3 3 3 4 4 4 5 5 5 5 6 6 6 7 7 7 7 8 8 8 8 9 9 9 9 10 10 10 10 11 11 "
    "11 11 11 12 12 12 12 13 13 13 13 13 14 14 14 14 14 15 15 15 15 15 15 16 16"
)


def _ints(text, typecode):
    return array(typecode, [int(v) for v in "".join(text).split()])


HANN_Q15 = _ints(_HANN_Q15, "h")
SIN_Q15 = _ints(_SIN_Q15, "h")
MEL_SEG = _ints(_MEL_SEG, "B")
MEL_W = _ints(_MEL_W, "H")
LOG2_Q4 = _ints(_LOG2_Q4, "B")
del _HANN_Q15, _SIN_Q15, _MEL_SEG, _MEL_W, _LOG2_Q4


def _zeros(typecode, n):
    return array(typecode, bytes(n * (4 if typecode == "i" else 2)))


def _bitrev_table():
    t = array("H", [0] * _HALF)
    for i in range(_HALF):
        r = 0
        for b in range(8):
            r |= ((i >> b) & 1) << (7 - b)
        t[i] = r
    return t


BITREV = _bitrev_table()
_ZERO = const(1000)  # "window was all zeros" instead of a shift
_FBIAS = const(1 << 20)  # floors are stored + _FBIAS so viper reads them as non-negative


# ---- plain-Python twins (CPython, and the reference for the viper kernels) ----


def _window_py(x, new, hann, zr, zi, rev):
    """Window the last WINDOW samples (the _OVERLAP kept in x, then the HOP in new), normalise,
    pack even/odd bit-reversed into zr/zi, and keep new's tail in x for the next hop.
    Returns the normalisation shift r (values were x*w >> r) or _ZERO."""
    m = 0
    for n in range(480):
        w = hann[n] if n < 240 else hann[479 - n]
        p = (x[n] if n < _OVERLAP else new[n - _OVERLAP]) * w
        if p < 0:
            p = -p
        if p > m:  # noqa: PLR1730
            m = p
    if m == 0:
        for i in range(_OVERLAP):
            x[i] = new[i + 160]
        return _ZERO
    r = -13
    while m:
        m >>= 1
        r += 1
    for n in range(_HALF):
        i = n << 1
        if i < 480:
            if i < _OVERLAP:  # i is even and _OVERLAP too: i, i + 1 come from one buffer
                s0 = x[i]
                s1 = x[i + 1]
            else:
                s0 = new[i - _OVERLAP]
                s1 = new[i + 1 - _OVERLAP]
            y0 = s0 * hann[i if i < 240 else 479 - i]
            y1 = s1 * hann[i + 1 if i + 1 < 240 else 478 - i]
            if r >= 0:
                y0 >>= r
                y1 >>= r
            else:
                y0 <<= -r
                y1 <<= -r
        else:
            y0 = y1 = 0
        zr[rev[n]] = y0
        zi[rev[n]] = y1
    for i in range(_OVERLAP):
        x[i] = new[i + 160]
    return r


def _fft_py(zr, zi, sn):
    size = 2
    tstep = 256
    while size <= _HALF:
        half = size >> 1
        start = 0
        while start < _HALF:
            for j in range(half):
                k = j * tstep
                s = sn[k]
                c = sn[k + 128]
                a = start + j
                b = a + half
                br = zr[b]
                bi = zi[b]
                tr = (br * c + bi * s) >> 15
                ti = (bi * c - br * s) >> 15
                ar = zr[a]
                ai = zi[a]
                zr[a] = (ar + tr) >> 1
                zi[a] = (ai + ti) >> 1
                zr[b] = (ar - tr) >> 1
                zi[b] = (ai - ti) >> 1
            start += size
        size <<= 1
        tstep >>= 1


def _mel_py(zr, zi, sn, seg, wt, mel):
    for b in range(N_MELS):
        mel[b] = 0
    for k in range(_KLO, _KHI + 1):
        ar = zr[k]
        ai = zi[k]
        cr = zr[256 - k]
        ci = zi[256 - k]
        er = (ar + cr) >> 1
        ei = (ai - ci) >> 1
        o_r = (ai + ci) >> 1
        oi = (cr - ar) >> 1
        c = sn[k + 128]
        s = sn[k]
        xr = er + ((c * o_r + s * oi) >> 15)
        xi = ei + ((c * oi - s * o_r) >> 15)
        p = (xr * xr + xi * xi) >> 7
        j = seg[k - _KLO]
        w = wt[k - _KLO]
        if j < 32:
            mel[j] += w * p
        if j > 0:
            mel[j - 1] += (256 - w) * p


def _log_py(mel, floor, logt, out, r, first, byte_out):
    for b in range(N_MELS):
        if r == _ZERO:
            lv = ZERO_LOG
        else:
            m = mel[b]
            n = -1
            t = m
            while t:
                t >>= 1
                n += 1
            if n < 0:
                lv = 0
            else:
                if n >= 6:
                    t = m >> (n - 6)
                else:
                    t = m << (6 - n)
                lv = 16 * n + logt[t - 64]
            lv += 32 * r
        lq = lv << 8
        if first:
            f = lq
        else:
            f = floor[b] - _FBIAS
            d = lq - f
            if d < 0:
                f += d >> FLOOR_FALL
            else:
                f += d >> FLOOR_RISE
        if f < (FLOOR_MIN << 8):  # noqa: PLR1730 (same code as the viper kernel)
            f = FLOOR_MIN << 8
        floor[b] = f + _FBIAS
        v = ((lv - (f >> 8)) >> 1) + FEAT_OFFSET
        if v > 127:
            v = 127
        elif v < -128:
            v = -128
        out[b] = v & 0xFF if byte_out else v


# ---- viper kernels: same arithmetic; loads are zero-extended, so signed values are
# sign-extended by hand ((v ^ 0x8000) - 0x8000). Every value fits 32 bits (ESP32). ----

if _HAVE_VIPER:

    @micropython.viper
    def _window_v(x: ptr16, new: ptr16, hann: ptr16, zr: ptr16, zi: ptr16, rev: ptr16) -> int:
        m = 0
        for n in range(480):
            w = int(hann[n]) if n < 240 else int(hann[479 - n])
            v = int(x[n]) if n < 160 else int(new[n - 160])
            p = ((v ^ 0x8000) - 0x8000) * w
            if p < 0:
                p = 0 - p
            if p > m:  # noqa: PLR1730
                m = p
        if m == 0:
            for i in range(160):
                x[i] = new[i + 160]
            return 1000
        r = -13
        while m:
            m >>= 1
            r += 1
        for n in range(256):
            i = n << 1
            y0 = 0
            y1 = 0
            if i < 480:
                h0 = int(hann[i]) if i < 240 else int(hann[479 - i])
                h1 = int(hann[i + 1]) if i + 1 < 240 else int(hann[478 - i])
                s0 = 0
                s1 = 0
                if i < 160:
                    s0 = int(x[i])
                    s1 = int(x[i + 1])
                else:
                    s0 = int(new[i - 160])
                    s1 = int(new[i - 159])
                y0 = ((s0 ^ 0x8000) - 0x8000) * h0
                y1 = ((s1 ^ 0x8000) - 0x8000) * h1
                if r >= 0:
                    y0 >>= r
                    y1 >>= r
                else:
                    y0 <<= 0 - r
                    y1 <<= 0 - r
            j = int(rev[n])
            zr[j] = y0
            zi[j] = y1
        for i in range(160):
            x[i] = new[i + 160]
        return r

    @micropython.viper
    def _fft_v(zr: ptr16, zi: ptr16, sn: ptr16):
        size = 2
        tstep = 256
        while size <= 256:
            half = size >> 1
            start = 0
            while start < 256:
                for j in range(half):
                    k = j * tstep
                    s = (int(sn[k]) ^ 0x8000) - 0x8000
                    c = (int(sn[k + 128]) ^ 0x8000) - 0x8000
                    a = start + j
                    b = a + half
                    br = (int(zr[b]) ^ 0x8000) - 0x8000
                    bi = (int(zi[b]) ^ 0x8000) - 0x8000
                    tr = (br * c + bi * s) >> 15
                    ti = (bi * c - br * s) >> 15
                    ar = (int(zr[a]) ^ 0x8000) - 0x8000
                    ai = (int(zi[a]) ^ 0x8000) - 0x8000
                    zr[a] = (ar + tr) >> 1
                    zi[a] = (ai + ti) >> 1
                    zr[b] = (ar - tr) >> 1
                    zi[b] = (ai - ti) >> 1
                start += size
            size <<= 1
            tstep >>= 1

    @micropython.viper
    def _mel_v(zr: ptr16, zi: ptr16, sn: ptr16, seg: ptr8, wt: ptr16, mel: ptr32):
        for b in range(32):
            mel[b] = 0
        for k in range(2, 244):
            ar = (int(zr[k]) ^ 0x8000) - 0x8000
            ai = (int(zi[k]) ^ 0x8000) - 0x8000
            cr = (int(zr[256 - k]) ^ 0x8000) - 0x8000
            ci = (int(zi[256 - k]) ^ 0x8000) - 0x8000
            er = (ar + cr) >> 1
            ei = (ai - ci) >> 1
            o_r = (ai + ci) >> 1
            oi = (cr - ar) >> 1
            c = (int(sn[k + 128]) ^ 0x8000) - 0x8000
            s = (int(sn[k]) ^ 0x8000) - 0x8000
            xr = er + ((c * o_r + s * oi) >> 15)
            xi = ei + ((c * oi - s * o_r) >> 15)
            p = (xr * xr + xi * xi) >> 7
            j = int(seg[k - 2])
            w = int(wt[k - 2])
            if j < 32:
                mel[j] = int(mel[j]) + w * p
            if j > 0:
                mel[j - 1] = int(mel[j - 1]) + (256 - w) * p

    @micropython.viper
    def _log_v(mel: ptr32, floor: ptr32, logt: ptr8, out: ptr8, r: int, first: int):
        fmin = _FLOOR_MIN << 8
        for b in range(32):
            lv = 0
            if r == 1000:
                lv = _ZERO_LOG
            else:
                m = int(mel[b])
                n = -1
                t = m
                while t:
                    t >>= 1
                    n += 1
                if n >= 0:
                    if n >= 6:
                        t = m >> (n - 6)
                    else:
                        t = m << (6 - n)
                    lv = 16 * n + int(logt[t - 64])
                lv += 32 * r
            lq = lv << 8
            f = lq
            if not first:
                f = int(floor[b]) - _FBIAS
                d = lq - f
                if d < 0:
                    f += d >> _FLOOR_FALL
                else:
                    f += d >> _FLOOR_RISE
            if f < fmin:  # noqa: PLR1730 (no max() in viper)
                f = fmin
            floor[b] = f + _FBIAS
            v = ((lv - (f >> 8)) >> 1) + _FEAT_OFFSET
            if v > 127:
                v = 127
            elif v < -128:
                v = -128
            out[b] = v


class Frontend:
    """Streaming feature extractor; allocates nothing per frame.

    ``process(samples, out)``: samples = exactly HOP new int16 samples (array('h') or a
    memoryview of one); out = preallocated bytearray or array('b') of N_MELS, receives int8.
    The first frame sees WINDOW - HOP zeros of history. Only those WINDOW - HOP samples are
    kept between calls (the window reads the rest from ``samples``).
    """

    HOP = HOP
    N_MELS = N_MELS

    def __init__(self, use_viper=True):
        self._x = _zeros("h", _OVERLAP)  # the window's oldest samples; the rest is the hop
        self._zr = _zeros("h", _HALF)  # FFT scratch
        self._zi = _zeros("h", _HALF)
        self._mel = _zeros("i", N_MELS)
        self._floor = _zeros("i", N_MELS)
        self._first = 1
        self.frames = 0
        v = use_viper and _HAVE_VIPER
        self._window = _window_v if v else _window_py
        self._fft = _fft_v if v else _fft_py
        self._melf = _mel_v if v else _mel_py
        self.viper = v

    def reset(self):
        for i in range(_OVERLAP):
            self._x[i] = 0
        self._first = 1
        self.frames = 0

    def process(self, samples, out):
        r = self._window(self._x, samples, HANN_Q15, self._zr, self._zi, BITREV)
        if r != _ZERO:
            self._fft(self._zr, self._zi, SIN_Q15)
            self._melf(self._zr, self._zi, SIN_Q15, MEL_SEG, MEL_W, self._mel)
        if self.viper:
            _log_v(self._mel, self._floor, LOG2_Q4, out, r, self._first)
        else:
            _log_py(
                self._mel, self._floor, LOG2_Q4, out, r, self._first, isinstance(out, bytearray)
            )
        self._first = 0
        self.frames += 1
