# ruff: noqa: F821  (viper pointer types exist only inside @micropython.viper)
"""Streaming int8 runtime for small causal temporal conv nets: one new frame per hop.

Layer kinds (``TYPE_*``): ``conv`` (causal temporal conv, kernel K, dilation D, Cin->Cout),
``dwconv`` (depthwise causal temporal, K, D, C->C), ``pw`` and ``dense`` (1x1, Cin->Cout).
For frame t, tap j (0..K-1) reads the layer input of frame ``t - (K-1-j)*D`` (tap K-1 is now;
before the first frame the history is zeros). Weights are int8, stored tap-major
``[cout][k][cin_per_group]``; activations are symmetric int8 (zero point 0).

A ``conv``, ``pw`` or ``dense`` layer may hold 4-bit weights (``w4``, format v2): -7..7, two to a
byte, low nibble first, in the same order; each output channel's K*Cin weights (Cin even)
start on a byte. Half the RAM per weight, so a wider model fits the same budget.

Per output channel: ``acc = bias + sum(w*x)`` (int32), plus ``x_res * rmul`` when the layer
has ``residual`` (x_res = the current input frame of the previous layer, i.e. the block
input when a dwconv -> pw block is wrapped), then TFLite-style requantisation
``y = (acc*mult + 2^(shift-1)) >> shift`` (floor), clamped to 0..127 (ReLU) or -127..127.
The loader guarantees 12 <= shift <= 40, mult < 2^18, |bias| < 2^23, rmul < 2^13 and the
exporter |acc| < 2^23, so the viper kernel computes it exactly in 32-bit words (see _net_v).

The last layer gives int8 logits; ``probs`` (0..255) is sigmoid(logit) from a table when there
is one output, else softmax with an exp table (both tables come from the model file, so no
float math runs on the device).

Memory: a model is four buffers, whatever its depth. ``w`` holds every layer's weights;
``p`` (array 'i') a header per layer plus two packed words per output channel; ``arena``
the activations. Each layer owns a ring of its last ``(K-1)*D + 1`` input frames; a layer
writes its output straight into the next layer's ring. Single-frame inputs (1x1 layers)
that no residual reads later are pure scratch: they share two slots (alternating, so a
layer never reads the slot it writes). One call runs every layer of a frame: a hop costs
exactly one frame of MACs and allocates nothing.
"""

import sys
from array import array

_HAVE_VIPER = sys.implementation.name == "micropython"
if _HAVE_VIPER:
    import micropython

TYPE_CONV = 0
TYPE_DWCONV = 1
TYPE_PW = 2
TYPE_DENSE = 3
TYPE_NAMES = ("conv", "dwconv", "pw", "dense")
OUT_SIGMOID = 0
OUT_SOFTMAX = 1

# Parameter block p: net header, then per layer L_HEAD words and two words per output
# channel, A[cout] then B[cout]:
#   A = bias << 5 | (shift - 12)     (bias signed)
#   B = mult | rmul << 18            (rmul 0 unless the layer is residual)
N_LAYERS = 0
N_SH = 1  # sign-extension shift for ptr32 loads (32 on 64-bit builds, 0 on 32-bit)
N_LOGITS = 2  # arena offset of the logits
N_HEAD = 4
L_CIN = 0
L_COUT = 1
L_K = 2
L_D = 3
L_H = 4  # ring height in frames
L_POS = 5  # ring slot of the current input frame
L_X = 6  # arena offset of the input ring
L_W = 7  # offset of the weights in w
L_FLAGS = 8
L_HEAD = 9
F_RELU = 1
F_RES = 2
F_DW = 4
F_W4 = 8

SHIFT_MIN = 12
SHIFT_MAX = 40
MULT_LIMIT = 1 << 18
BIAS_LIMIT = 1 << 23
RMUL_LIMIT = 1 << 13

_SH = 32 if sys.maxsize > 0xFFFFFFFF else 0


def zeros(typecode, n):
    """array of n zeros without building an n-item list first (load-time peak RAM)."""
    return array(typecode, bytes(n * {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4}[typecode]))


def _net_py(p, a, w, f):
    """Plain-Python twin of _net_v; ``a`` and ``w`` are int8 views, ``f`` raw feature bytes."""
    n = p[0]
    i = N_HEAD
    for _ in range(n):
        pos = p[i + 5] + 1
        if pos == p[i + 4]:
            pos = 0
        p[i + 5] = pos
        i += L_HEAD + 2 * p[i + 1]
    cin = p[N_HEAD]
    xo = p[N_HEAD + 6] + p[N_HEAD + 5] * cin
    for c in range(cin):
        v = f[c]
        a[xo + c] = v - 256 if v > 127 else v
    i = N_HEAD
    prev = i
    for li in range(n):
        cin = p[i]
        cout = p[i + 1]
        k = p[i + 2]
        d = p[i + 3]
        h = p[i + 4]
        pos = p[i + 5]
        xb = p[i + 6]
        wb = p[i + 7]
        fl = p[i + 8]
        nxt = i + L_HEAD + 2 * cout
        if li + 1 < n:
            yo = p[nxt + 6] + p[nxt + 5] * p[nxt]
        else:
            yo = p[2]
        ro = p[prev + 6] + p[prev + 5] * p[prev]
        lo = 0 if fl & 1 else -127
        pa = i + L_HEAD
        for co in range(cout):
            wa = p[pa + co]
            wm = p[pa + cout + co]
            acc = wa >> 5
            if fl & 4:
                for j in range(k):
                    slot = pos - (k - 1 - j) * d
                    if slot < 0:
                        slot += h
                    acc += a[xb + slot * cin + co] * w[wb + co * k + j]
            elif fl & 8:
                wo = wb + ((co * k * cin) >> 1)
                for j in range(k):
                    slot = pos - (k - 1 - j) * d
                    if slot < 0:
                        slot += h
                    xo = xb + slot * cin
                    for ci in range(0, cin, 2):
                        b = w[wo] & 0xFF
                        acc += a[xo + ci] * (((b & 15) ^ 8) - 8)
                        acc += a[xo + ci + 1] * (((b >> 4) ^ 8) - 8)
                        wo += 1
            else:
                wo = wb + co * k * cin
                for j in range(k):
                    slot = pos - (k - 1 - j) * d
                    if slot < 0:
                        slot += h
                    xo = xb + slot * cin
                    for ci in range(cin):
                        acc += a[xo + ci] * w[wo + ci]
                    wo += cin
            if fl & 2:
                acc += a[ro + co] * (wm >> 18)
            s = (wa & 31) + 12
            v = (acc * (wm & 0x3FFFF) + (1 << (s - 1))) >> s
            if v < lo:
                v = lo
            elif v > 127:
                v = 127
            a[yo + co] = v
        prev = i
        i = nxt


if _HAVE_VIPER:

    @micropython.viper
    def _net_v(p: ptr32, a: ptr8, w: ptr8, f: ptr8):
        n = int(p[0])
        sh = int(p[1])
        i = 4
        for _ in range(n):
            pos = int(p[i + 5]) + 1
            if pos == int(p[i + 4]):
                pos = 0
            p[i + 5] = pos
            i += 9 + 2 * int(p[i + 1])
        cin = int(p[4])
        xo = int(p[10]) + int(p[9]) * cin
        for c in range(cin):
            a[xo + c] = f[c]
        i = 4
        prev = 4
        for li in range(n):
            cin = int(p[i])
            cout = int(p[i + 1])
            k = int(p[i + 2])
            d = int(p[i + 3])
            h = int(p[i + 4])
            pos = int(p[i + 5])
            xb = int(p[i + 6])
            wb = int(p[i + 7])
            fl = int(p[i + 8])
            nxt = i + 9 + 2 * cout
            yo = int(p[2])
            if li + 1 < n:
                yo = int(p[nxt + 6]) + int(p[nxt + 5]) * int(p[nxt])
            ro = int(p[prev + 6]) + int(p[prev + 5]) * int(p[prev])
            lo = -127
            if fl & 1:
                lo = 0
            pa = i + 9
            for co in range(cout):
                wa = (int(p[pa + co]) << sh) >> sh
                wm = int(p[pa + cout + co])
                acc = wa >> 5
                if fl & 4:
                    for j in range(k):
                        slot = pos - (k - 1 - j) * d
                        if slot < 0:
                            slot += h
                        acc += ((int(a[xb + slot * cin + co]) ^ 0x80) - 0x80) * (
                            (int(w[wb + co * k + j]) ^ 0x80) - 0x80
                        )
                elif fl & 8:
                    wo = wb + ((co * k * cin) >> 1)
                    for j in range(k):
                        slot = pos - (k - 1 - j) * d
                        if slot < 0:
                            slot += h
                        xo = xb + slot * cin
                        for q in range(cin >> 1):
                            b = int(w[wo + q])
                            acc += ((int(a[xo]) ^ 0x80) - 0x80) * (((b & 15) ^ 8) - 8) + (
                                (int(a[xo + 1]) ^ 0x80) - 0x80
                            ) * (((b >> 4) ^ 8) - 8)
                            xo += 2
                        wo += cin >> 1
                else:
                    wo = wb + co * k * cin
                    for j in range(k):
                        slot = pos - (k - 1 - j) * d
                        if slot < 0:
                            slot += h
                        xo = xb + slot * cin
                        for ci in range(cin):
                            acc += ((int(a[xo + ci]) ^ 0x80) - 0x80) * (
                                (int(w[wo + ci]) ^ 0x80) - 0x80
                            )
                        wo += cin
                if fl & 2:
                    acc += ((int(a[ro + co]) ^ 0x80) - 0x80) * (wm >> 18)
                m = wm & 0x3FFFF
                s = (wa & 31) + 12
                # (acc*m + 2^(s-1)) >> s without a 64-bit product: acc = ah*2^11 + al, al >= 0
                t = (acc >> 11) * m + (1 << (s - 12)) + (((acc & 2047) * m) >> 11)
                v = t >> (s - 11)
                if v < lo:
                    v = lo
                elif v > 127:
                    v = 127
                a[yo + co] = v
            prev = i
            i = nxt


def weight_count(kind, k, cin, cout):
    return cout * k * (1 if kind == TYPE_DWCONV else cin)


def weight_bytes(kind, k, cin, cout, w4=False):
    """Bytes a layer's weights take: one per weight, or half that with 4-bit weights."""
    n = weight_count(kind, k, cin, cout)
    return n >> 1 if w4 else n


def w4_ok(kind, cin):
    """4-bit weights need a full-matrix layer and an even Cin (channels start on a byte)."""
    return kind != TYPE_DWCONV and cin % 2 == 0


class Net:
    """A chain of layers. ``push(features)`` runs one frame; results in ``probs``.

    ``specs``: per layer ``(kind, k, d, cin, cout, relu, residual[, w4])``; ``table``:
    array('H') of 256 (see ``push``). The buffers start zeroed; the loader fills weights and
    parameters through ``tensors``.
    """

    def __init__(self, specs, out_kind, table, use_viper=True):
        n = len(specs)
        self.out_kind = out_kind
        self.n_in = specs[0][3]
        self.n_out = specs[-1][4]
        self.n_layers = n
        plen = N_HEAD
        nw = 0
        macs = 0
        scratch = 0
        for sp in specs:
            kind, k, _d, cin, cout = sp[:5]
            plen += L_HEAD + 2 * cout
            nw += weight_bytes(kind, k, cin, cout, len(sp) > 7 and sp[7])
            macs += weight_count(kind, k, cin, cout)
            scratch = max(scratch, cin)
        self.macs = macs
        p = zeros("i", plen)
        p[N_LAYERS] = n
        p[N_SH] = _SH
        # arena: [scratch slot 0][scratch slot 1][logits][rings that keep state]
        off = 2 * scratch
        p[N_LOGITS] = off
        off += self.n_out
        i = N_HEAD
        wo = 0
        self._hdr = []
        for li, sp in enumerate(specs):
            kind, k, d, cin, cout, relu, res = sp[:7]
            w4 = len(sp) > 7 and sp[7]
            if w4 and not w4_ok(kind, cin):
                raise ValueError("4-bit weights need a conv/pw/dense layer with even cin")
            h = (k - 1) * d + 1
            p[i + L_CIN], p[i + L_COUT], p[i + L_K], p[i + L_D], p[i + L_H] = cin, cout, k, d, h
            p[i + L_W] = wo
            p[i + L_FLAGS] = (
                (F_RELU if relu else 0)
                | (F_RES if res else 0)
                | (F_DW if kind == TYPE_DWCONV else 0)
                | (F_W4 if w4 else 0)
            )
            read_later = li + 1 < n and specs[li + 1][6]  # the next layer's residual
            if h == 1 and li > 0 and not read_later:
                p[i + L_X] = (li & 1) * scratch
            else:
                p[i + L_X] = off
                off += h * cin
            self._hdr.append(i)
            wo += weight_bytes(kind, k, cin, cout, w4)
            i += L_HEAD + 2 * cout
        self.p = p
        self.w = bytearray(nw)
        self.arena = bytearray(off)
        if out_kind == OUT_SIGMOID and max(table) < 256:
            t = bytearray(256)  # probabilities 0..255: half the RAM of the u16 table
            for i in range(256):
                t[i] = table[i]
            table = t
        self.table = table
        self.probs = bytearray(self.n_out)
        self._lg = p[N_LOGITS]
        self.viper = use_viper and _HAVE_VIPER
        if self.viper:
            self._run = _net_v
            self._a = self.arena
            self._w = self.w
        else:  # the twin reads the byte buffers as int8
            self._run = _net_py
            self._a = _signed(self.arena)
            self._w = _signed(self.w)

    def tensors(self, i):
        """Layer i: (weights, A block, B block, cout, residual) as writable memoryviews."""
        h = self._hdr[i]
        p = self.p
        cin, cout, k, wo = p[h + L_CIN], p[h + L_COUT], p[h + L_K], p[h + L_W]
        fl = p[h + L_FLAGS]
        nw = cout * k * (1 if fl & F_DW else cin)
        if fl & F_W4:
            nw >>= 1
        pm = memoryview(p)
        a = h + L_HEAD
        return (
            memoryview(self.w)[wo : wo + nw],
            pm[a : a + cout],
            pm[a + cout : a + 2 * cout],
            cout,
            bool(p[h + L_FLAGS] & F_RES),
        )

    def reset(self):
        a = self.arena
        for i in range(len(a)):
            a[i] = 0
        for h in self._hdr:
            self.p[h + L_POS] = 0

    def macs_per_frame(self):
        return self.macs

    def weight_bytes(self):
        """Model constants in RAM: int8/int4 weights, packed parameters, output table."""
        return (
            len(self.w)
            + 4 * len(self.p)
            + len(self.table) * (1 if isinstance(self.table, bytearray) else 2)
        )

    def arena_bytes(self):
        """Working memory: rings, shared scratch, logits and probabilities."""
        return len(self.arena) + self.n_out

    @property
    def logits(self):
        """The last frame's int8 logits as raw bytes (a copy: for tests and tools)."""
        return bytes(self.arena[self._lg : self._lg + self.n_out])

    def push(self, feats):
        """Run one frame of N_in int8 features (bytes-like); returns ``probs`` (0..255)."""
        self._run(self.p, self._a, self._w, feats)
        lg = self.arena
        o = self._lg
        pr = self.probs
        tab = self.table
        n = self.n_out
        if self.out_kind == OUT_SIGMOID:
            for i in range(n):
                pr[i] = tab[(lg[o + i] + 128) & 0xFF]  # int8 logit q -> tab[q + 128]
            return pr
        mx = -128
        for i in range(n):
            v = lg[o + i]
            if v > 127:
                v -= 256
            if v > mx:  # noqa: PLR1730
                mx = v
        tot = 0
        for i in range(n):
            v = lg[o + i]
            if v > 127:
                v -= 256
            tot += tab[mx - v]
        for i in range(n):
            v = lg[o + i]
            if v > 127:
                v -= 256
            pr[i] = (tab[mx - v] * 255 + (tot >> 1)) // tot
        return pr


def _signed(buf):
    # CPython: reinterpret a bytearray as int8 without copying; MicroPython twin: a wrapper
    return memoryview(buf).cast("b") if hasattr(memoryview, "cast") else _SignedView(buf)


class _SignedView:
    """int8 view of a bytearray for interpreters without memoryview.cast (twin under MPY)."""

    def __init__(self, buf):
        self.b = buf

    def __getitem__(self, i):
        v = self.b[i]
        return v - 256 if v > 127 else v

    def __setitem__(self, i, v):
        self.b[i] = v & 0xFF
