# ruff: noqa: F821  (viper pointer types exist only inside @micropython.viper)
"""Streaming int8 runtime for small causal temporal conv nets: one new frame per hop.

Layer kinds (``TYPE_*``): ``conv`` (causal temporal conv, kernel K, dilation D, Cin->Cout),
``dwconv`` (depthwise causal temporal, K, D, C->C), ``pw`` and ``dense`` (1x1, Cin->Cout).
For frame t, tap j (0..K-1) reads the layer input of frame ``t - (K-1-j)*D`` (tap K-1 is now;
before the first frame the history is zeros). Weights are int8, stored tap-major
``[cout][k][cin_per_group]``; activations are symmetric int8 (zero point 0).

Per output channel: ``acc = bias + sum(w*x)`` (int32), plus ``x_res * rmul`` when the layer
has ``residual`` (x_res = the current input frame of the previous layer, i.e. the block
input when a dwconv -> pw block is wrapped), then TFLite-style requantisation
``y = (acc*mult + 2^(shift-1)) >> shift`` (floor), clamped to 0..127 (ReLU) or -127..127.
Exporter guarantees 12 <= shift <= 40, mult < 2^18, |acc| < 2^23, rmul < 2^14, so the viper
kernel can compute it exactly in 32-bit words by splitting acc (see _conv_v).

The last layer gives int8 logits; ``probs`` (0..255) is sigmoid(logit) from a table when there
is one output, else softmax with an exp table (both tables come from the model file, so no
float math runs on the device).

Each layer keeps a ring of its last ``(K-1)*D + 1`` input frames; a layer writes its output
straight into the next layer's ring, so a hop costs exactly one frame of MACs and allocates
nothing.
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

# Layout of a layer's int32 parameter block: a header, then bias, mult, shift (and rmul for
# residual layers) per cout.
P_CIN = 0
P_COUT = 1
P_K = 2
P_D = 3
P_H = 4
P_POS = 5  # ring slot of the current input frame
P_YOFF = 6  # where the output goes in the next buffer
P_LO = 7
P_HI = 8
P_RES = 9  # 1: add residual from (res buffer, P_ROFF)
P_SH = 10  # sign-extension shift for ptr32 loads (32 on 64-bit builds, 0 on 32-bit)
P_DW = 11
P_ROFF = 12
P_HEAD = 16

_SH = 32 if sys.maxsize > 0xFFFFFFFF else 0


def _conv_py(p, x, w, y, res):
    cin = p[0]
    cout = p[1]
    k = p[2]
    d = p[3]
    h = p[4]
    pos = p[5]
    yo = p[6]
    lo = p[7]
    hi = p[8]
    dw = p[11]
    nb = 16
    for co in range(cout):
        acc = p[nb + co]
        if dw:
            for j in range(k):
                slot = pos - (k - 1 - j) * d
                if slot < 0:
                    slot += h
                acc += x[slot * cin + co] * w[co * k + j]
        else:
            wo = co * k * cin
            for j in range(k):
                slot = pos - (k - 1 - j) * d
                if slot < 0:
                    slot += h
                xo = slot * cin
                for ci in range(cin):
                    acc += x[xo + ci] * w[wo + ci]
                wo += cin
        if p[9]:
            acc += res[p[12] + co] * p[nb + 3 * cout + co]
        s = p[nb + 2 * cout + co]
        v = (acc * p[nb + cout + co] + (1 << (s - 1))) >> s
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        y[yo + co] = v


if _HAVE_VIPER:

    @micropython.viper
    def _conv_v(p: ptr32, x: ptr8, w: ptr8, y: ptr8, res: ptr8):
        sh = int(p[10])
        cin = int(p[0])
        cout = int(p[1])
        k = int(p[2])
        d = int(p[3])
        h = int(p[4])
        pos = int(p[5])
        yo = int(p[6])
        lo = (int(p[7]) << sh) >> sh
        hi = int(p[8])
        dw = int(p[11])
        hasres = int(p[9])
        ro = int(p[12])
        for co in range(cout):
            acc = (int(p[16 + co]) << sh) >> sh
            if dw:
                for j in range(k):
                    slot = pos - (k - 1 - j) * d
                    if slot < 0:
                        slot += h
                    acc += ((int(x[slot * cin + co]) ^ 0x80) - 0x80) * (
                        (int(w[co * k + j]) ^ 0x80) - 0x80
                    )
            else:
                wo = co * k * cin
                for j in range(k):
                    slot = pos - (k - 1 - j) * d
                    if slot < 0:
                        slot += h
                    xo = slot * cin
                    for ci in range(cin):
                        acc += ((int(x[xo + ci]) ^ 0x80) - 0x80) * (
                            (int(w[wo + ci]) ^ 0x80) - 0x80
                        )
                    wo += cin
            if hasres:
                acc += ((int(res[ro + co]) ^ 0x80) - 0x80) * int(p[16 + 3 * cout + co])
            m = int(p[16 + cout + co])
            s = int(p[16 + 2 * cout + co])
            # (acc*m + 2^(s-1)) >> s without a 64-bit product: acc = ah*2^11 + al, al >= 0
            t = (acc >> 11) * m + (1 << (s - 12)) + (((acc & 2047) * m) >> 11)
            v = t >> (s - 11)
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            y[yo + co] = v


class Layer:
    """One layer: its parameter block ``p`` (array 'i'), weights ``w`` and input ring."""

    def __init__(self, kind, k, d, cin, cout, relu, residual):
        self.kind = kind
        self.k = k
        self.d = d
        self.cin = cin
        self.cout = cout
        self.relu = relu
        self.residual = residual
        self.dw = kind == TYPE_DWCONV
        self.h = (k - 1) * d + 1
        self.ring = bytearray(self.h * cin)
        self.w = bytearray(weight_count(kind, k, cin, cout))
        p = array("i", [0] * (P_HEAD + (4 if residual else 3) * cout))
        p[P_CIN], p[P_COUT], p[P_K], p[P_D], p[P_H] = cin, cout, k, d, self.h
        p[P_LO], p[P_HI] = (0 if relu else -127), 127
        p[P_RES], p[P_SH], p[P_DW] = int(bool(residual)), _SH, int(self.dw)
        self.p = p
        self.pos = 0

    def macs(self):
        return self.cout * self.k * (1 if self.dw else self.cin)

    def param_views(self):
        """(bias, mult, shift[, rmul]) as writable memoryviews of p (for the loader)."""
        mv = memoryview(self.p)
        c = self.cout
        return tuple(
            mv[P_HEAD + i * c : P_HEAD + (i + 1) * c] for i in range((len(self.p) - P_HEAD) // c)
        )


def weight_count(kind, k, cin, cout):
    return cout * k * (1 if kind == TYPE_DWCONV else cin)


class Net:
    """A chain of layers. ``push(features)`` runs one frame; results in ``logits``/``probs``."""

    def __init__(self, layers, out_kind, table, use_viper=True):
        self.layers = layers
        self.out_kind = out_kind
        self.table = table  # array('H') of 256
        self.n_in = layers[0].cin
        self.n_out = layers[-1].cout
        self.logits = bytearray(self.n_out)
        self.probs = bytearray(self.n_out)
        self._in = memoryview(layers[0].ring)
        self._res = []
        for i, ly in enumerate(layers):
            # a residual adds the current input frame of the previous layer
            self._res.append(layers[i - 1].ring if ly.residual else self.logits)
        self.viper = use_viper and _HAVE_VIPER
        self._kernel = _conv_v if self.viper else _conv_py
        self._views = []
        if not self.viper:  # the Python twin needs signed views of the byte buffers
            self._signed = {}

    def _sv(self, buf):
        # CPython/twin: reinterpret a bytearray as int8 without copying
        s = self._signed.get(id(buf))
        if s is None:
            s = memoryview(buf).cast("b") if hasattr(memoryview, "cast") else _SignedView(buf)
            self._signed[id(buf)] = s
        return s

    def reset(self):
        for ly in self.layers:
            for i in range(len(ly.ring)):
                ly.ring[i] = 0
            ly.pos = 0

    def macs_per_frame(self):
        return sum(ly.macs() for ly in self.layers)

    def weight_bytes(self):
        return sum(len(ly.w) + 4 * len(ly.p) for ly in self.layers)

    def arena_bytes(self):
        """Working memory: rings and outputs (weights not included)."""
        return sum(len(ly.ring) for ly in self.layers) + 2 * self.n_out

    def push(self, feats):
        """Run one frame of N_in int8 features (bytes-like); returns ``probs`` (0..255)."""
        layers = self.layers
        n = len(layers)
        for ly in layers:
            ly.pos += 1
            if ly.pos == ly.h:
                ly.pos = 0
            ly.p[P_POS] = ly.pos
        first = layers[0]
        o = first.pos * first.cin
        self._in[o : o + first.cin] = feats
        kern = self._kernel
        for i in range(n):
            ly = layers[i]
            if i + 1 < n:
                nxt = layers[i + 1]
                ly.p[P_YOFF] = nxt.pos * nxt.cin
                y = nxt.ring
            else:
                ly.p[P_YOFF] = 0
                y = self.logits
            res = self._res[i]
            if ly.residual:
                prev = layers[i - 1]
                ly.p[P_ROFF] = prev.pos * prev.cin
            if self.viper:
                kern(ly.p, ly.ring, ly.w, y, res)
            else:
                kern(ly.p, self._sv(ly.ring), self._sv(ly.w), self._sv(y), self._sv(res))
        self._probs()
        return self.probs

    def _probs(self):
        lg = self.logits
        pr = self.probs
        tab = self.table
        if self.out_kind == OUT_SIGMOID:
            for i in range(self.n_out):
                pr[i] = tab[(lg[i] + 128) & 0xFF]  # int8 logit q -> tab[q + 128]
            return
        mx = -128
        for i in range(self.n_out):
            v = lg[i] - 256 if lg[i] > 127 else lg[i]
            if v > mx:  # noqa: PLR1730
                mx = v
        tot = 0
        for i in range(self.n_out):
            v = lg[i] - 256 if lg[i] > 127 else lg[i]
            tot += tab[mx - v]
        for i in range(self.n_out):
            v = lg[i] - 256 if lg[i] > 127 else lg[i]
            pr[i] = (tab[mx - v] * 255 + (tot >> 1)) // tot


class _SignedView:
    """int8 view of a bytearray for interpreters without memoryview.cast (twin under MPY)."""

    def __init__(self, buf):
        self.b = buf

    def __getitem__(self, i):
        v = self.b[i]
        return v - 256 if v > 127 else v

    def __setitem__(self, i, v):
        self.b[i] = v & 0xFF
