"""Model files: quantise a float model of the exchange format to int8 and write it.

Exchange format (what training hands over)
------------------------------------------
``layers`` is a list of dicts, in order, for a causal temporal conv net on the frontend's
int8 features (``host_tools.reference.features``)::

    {"type": "conv" | "dwconv" | "pw" | "dense", "k": int, "d": int, "cin": int,
     "cout": int, "relu": bool, "residual": bool,
     "weight": np.float32 [cout, cin_per_group, k]   (pw/dense: [cout, cin]; dwconv: [c, 1, k]),
     "bias": np.float32 [cout], "bits": 8 | 4 (optional, default 8)}

* The float model's input is ``features * input_scale`` (``input_scale`` is an argument of
  ``export``; default ``INPUT_SCALE``).
* Temporal taps are causal, PyTorch ``Conv1d`` order: for frame t, tap j reads frame
  ``t - (k-1-j)*d``; frames before the start are zeros (left zero padding ``(k-1)*d``).
* ``residual: True`` adds the *input of the previous layer* (for a ``dwconv -> pw`` block:
  the block input) to this layer's output *before* its ReLU: ``y = relu(W x + b + x_block)``.
  The previous layer's ``cin`` must equal this layer's ``cout``.
* ``bits: 4`` stores a ``conv``, ``pw`` or ``dense`` layer (even ``cin``) with 4-bit weights
  (-7..7 per output channel): half the bytes, for a wider model in the same RAM.
* The last layer gives logits: one output -> sigmoid (a single wake word); several ->
  softmax over ``labels`` (labels named ``unknown``/``background``/``silence`` never fire).

``export(layers, labels, kind, calib_features, out_base, input_scale=..., **manifest)``
quantises (per-output-channel symmetric int8 or int4 weights; int8 activation scales from the
largest magnitude seen on ``calib_features``, an int8 [frames, 32] array of real feature
frames, e.g. concatenated clips), writes ``out_base.bin`` and ``out_base.json`` and returns
the manifest. Use ``host_tools.reference.quantized_forward_numpy(read(bin), feats)`` to check
the quantised accuracy: it is bit-exact with the device.

Binary layout (little endian), version 1, or 2 when a layer has 4-bit weights
---------------------------------------------------------
header (32 bytes): ``b"HWM1"``, u16 format version, u16 frontend version, u32 body length,
u32 CRC-32 of the body, u16 n_in, u16 n_out, u16 n_layers, u8 out kind (0 sigmoid,
1 softmax), u8 0, 8 bytes 0.
body: 256 x u16 output table (sigmoid: ``round(255*sigmoid(q*s))`` at q+128; softmax:
``round(65535*exp(-d*s))`` at d = max logit - logit); n_layers x 16-byte records (u8 type,
u8 k, u8 d, u8 flags: 1 relu, 2 residual, 4 4-bit weights (v2); u16 cin, u16 cout, u32 weight
count, u32 0); then per layer: weights ``[cout][k][cin_per_group]`` (int8, or 4-bit two to a
byte, low nibble first) zero-padded to 4 bytes, and int32 arrays bias, mult, shift and (only for
residual layers) rmul, each [cout].
"""

import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

from host_tools.errors import HushwordError
from host_tools.paths import FIRMWARE

if str(FIRMWARE) not in sys.path:
    sys.path.insert(0, str(FIRMWARE))

from hushword import frontend as fe
from hushword import nn

MAGIC = b"HWM1"
FORMAT_VERSION = 2  # the newest written; a model without 4-bit layers is written as v1
HEADER = struct.Struct("<4sHHIIHHHBB8x")
RECORD = struct.Struct("<BBBBHHII")
INPUT_SCALE = 1.0 / 16  # feature unit 0.375 dB; 16 units = 6 dB -> 1.0
TYPES = {name: i for i, name in enumerate(nn.TYPE_NAMES)}
NEVER_FIRE = ("unknown", "background", "silence", "_unknown_", "_silence_", "negative")

# Default channel counts (what training should use unless it has a reason not to). Both
# models run every hop and stay in RAM together; with the firmware's packed runtime a C=48
# wake model plus a C=64 command model of 12 labels hold about 62 KB on the device (the
# unix-port measurement of `hushword bench`), inside the 64 KB budget. Check `hushword bench`
# before widening either.
DEFAULT_WAKE_CHANNELS = 48
DEFAULT_COMMAND_CHANNELS = 64
# `hushword train --commands --wide`: C=80 with 4-bit weights in the first conv and the
# pointwise layers holds 3 KB less than the default C=64 int8 model (weights + working memory),
# for 1.46 times the MACs.
WIDE_COMMAND_CHANNELS = 80
WIDE_W4 = ("conv0", "pw")  # the 4-bit layers of either wide model
# `hushword train --word W --wide`: the wake model at C=56 with the same 4-bit layers, the
# widest under the 1.0 M MACs per second a wake model may take (C=64 would take 1.2 M).
WIDE_WAKE_CHANNELS = 56

MAX_ACC = 1 << 22
MAX_RMUL = 1 << 13


def float_forward_numpy(layers, x):
    """Float model on x [frames, cin] (float); returns [frames, n_out] logits and each
    layer's output, with exactly the streaming semantics of the device."""
    outs = []
    prev_in = None
    for ly in layers:
        y = _float_layer(ly, x)
        if ly.get("residual"):
            y = y + x_prev_input(prev_in, ly)
        if ly.get("relu"):
            y = np.maximum(y, 0)
        outs.append(y)
        prev_in, x = x, y
    return x, outs


def x_prev_input(prev_in, ly):
    if prev_in is None or prev_in.shape[1] != ly["cout"]:
        raise HushwordError("residual layer needs a previous layer with cin == cout")
    return prev_in


def _taps(x, k, d):
    """[k, frames, c]: tap j = x shifted by (k-1-j)*d frames with zeros before the start."""
    t = len(x)
    out = np.zeros((k,) + x.shape, dtype=x.dtype)
    for j in range(k):
        s = (k - 1 - j) * d
        if s < t:
            out[j, s:] = x[: t - s]
    return out


def _float_layer(ly, x):
    w = np.asarray(ly["weight"], np.float64)
    b = np.asarray(ly["bias"], np.float64)
    k, d = int(ly.get("k", 1)), int(ly.get("d", 1))
    if ly["type"] in ("pw", "dense"):
        return x @ w.reshape(ly["cout"], ly["cin"]).T + b
    taps = _taps(x, k, d)
    if ly["type"] == "dwconv":
        return np.einsum("jtc,cj->tc", taps, w.reshape(ly["cout"], k)) + b
    return np.einsum("jti,oij->to", taps, w) + b


def _mult_shift(real):
    """real multiplier -> (mult, shift) with mult in [2^14, 2^15) (or up to 2^18 for large
    factors) and 12 <= shift <= 40; see firmware/hushword/nn.py."""
    mult = np.zeros(real.shape, np.int64)
    shift = np.zeros(real.shape, np.int64)
    for i, r in enumerate(real):
        if r <= 0:
            mult[i], shift[i] = 0, 12
            continue
        e = int(np.floor(np.log2(r)))
        s = 14 - e  # r * 2^s in [2^14, 2^15)
        s = min(max(s, 12), 40)
        m = round(r * 2.0**s)
        if m >= 1 << 18:
            raise HushwordError(f"requantisation factor {r:.3g} too large for int8 export")
        mult[i], shift[i] = m, s
    return mult, shift


def quantize(layers, calib_features, input_scale=INPUT_SCALE):
    """Float exchange-format layers -> quantised model dict (what ``read`` returns)."""
    _check_layers(layers)
    calib = np.asarray(calib_features, np.float64).reshape(-1, fe.N_MELS) * input_scale
    _, outs = float_forward_numpy(layers, calib)
    s_in = input_scale
    prev_in_scale = None
    qlayers = []
    out_scale = None
    for i, ly in enumerate(layers):
        cout = ly["cout"]
        w = np.asarray(ly["weight"], np.float64)
        k = int(ly.get("k", 1))
        dwc = ly["type"] == "dwconv"
        w = w.reshape(cout, 1 if dwc else ly["cin"], k) if w.ndim == 3 else w[:, :, None]
        bits = int(ly.get("bits", 8))
        if bits not in (4, 8) or (bits == 4 and not nn.w4_ok(TYPES[ly["type"]], ly["cin"])):
            raise HushwordError("layer %d: %d-bit weights not supported here" % (i, bits))
        qmax = 7 if bits == 4 else 127
        sw = np.abs(w).reshape(cout, -1).max(axis=1) / qmax
        sw[sw == 0] = 1e-8
        wq = np.clip(np.round(w / sw[:, None, None]), -qmax, qmax).astype(np.int8)
        peak = float(np.abs(outs[i]).max()) if len(outs[i]) else 1.0
        if peak <= 0:
            peak = 1.0
        s_out = peak / 127.0
        acc_scale = s_in * sw
        bias = np.clip(np.round(np.asarray(ly["bias"], np.float64) / acc_scale), -(2**20), 2**20)
        mult, shift = _mult_shift(acc_scale / s_out)
        rmul = np.zeros(cout, np.int64)
        if ly.get("residual"):
            rmul = np.round(prev_in_scale / acc_scale)
            if rmul.max() >= MAX_RMUL:
                raise HushwordError(
                    "residual scale ratio too large for int8 export (layer %d)" % i
                )
        qlayers.append(
            {
                "type": ly["type"],
                "k": k,
                "d": int(ly.get("d", 1)),
                "cin": int(ly["cin"]),
                "cout": int(cout),
                "relu": bool(ly.get("relu")),
                "residual": bool(ly.get("residual")),
                "bits": bits,
                "w": np.ascontiguousarray(wq.transpose(0, 2, 1)),  # tap-major [cout][k][cin]
                "bias": bias.astype(np.int32),
                "mult": mult.astype(np.int32),
                "shift": shift.astype(np.int32),
                "rmul": rmul.astype(np.int32),
                "in_scale": s_in,
                "out_scale": s_out,
            }
        )
        prev_in_scale, s_in = s_in, s_out
        out_scale = s_out
    n_out = layers[-1]["cout"]
    if n_out == 1:
        q = np.arange(-128, 128)
        table = np.round(255.0 / (1.0 + np.exp(-q * out_scale)))
        out_kind = nn.OUT_SIGMOID
    else:
        table = np.round(65535.0 * np.exp(-np.arange(256) * out_scale))
        out_kind = nn.OUT_SOFTMAX
    table = np.maximum(table, 0 if n_out == 1 else 1).astype(np.uint16)
    return {
        "layers": qlayers,
        "out_kind": out_kind,
        "table": table,
        "n_in": fe.N_MELS,
        "n_out": n_out,
        "input_scale": input_scale,
    }


def _check_layers(layers):
    if not layers:
        raise HushwordError("model has no layers")
    cin = fe.N_MELS
    for i, ly in enumerate(layers):
        if ly.get("type") not in TYPES:
            raise HushwordError("layer %d: unknown type %r" % (i, ly.get("type")))
        if ly["cin"] != cin:
            raise HushwordError("layer %d: cin %d, previous output %d" % (i, ly["cin"], cin))
        if ly["type"] == "dwconv" and ly["cout"] != ly["cin"]:
            raise HushwordError("layer %d: dwconv needs cin == cout" % i)
        if ly.get("residual") and (i == 0 or layers[i - 1]["cin"] != ly["cout"]):
            raise HushwordError("layer %d: residual needs previous cin == cout" % i)
        if ly["type"] in ("pw", "dense") and int(ly.get("k", 1)) != 1:
            raise HushwordError("layer %d: pw/dense have k = 1" % i)
        cin = ly["cout"]


def _w4(ly):
    return ly.get("bits", 8) == 4


def pack4(w):
    """int8 values in -8..7 -> bytes, two to a byte, low nibble first (even count)."""
    u = np.asarray(w, np.int8).ravel().astype(np.uint8) & 15
    return (u[0::2] | (u[1::2] << 4)).astype(np.uint8).tobytes()


def unpack4(b):
    """pack4's inverse: bytes -> int8 values in -8..7."""
    u = np.frombuffer(b, np.uint8)
    out = np.empty(2 * len(u), np.int8)
    out[0::2] = ((u & 15) ^ 8).astype(np.int8) - 8
    out[1::2] = ((u >> 4) ^ 8).astype(np.int8) - 8
    return out


def to_bytes(model):
    body = bytearray()
    body += np.asarray(model["table"], "<u2").tobytes()
    for ly in model["layers"]:
        flags = (1 if ly["relu"] else 0) | (2 if ly["residual"] else 0) | (4 if _w4(ly) else 0)
        body += RECORD.pack(
            TYPES[ly["type"]], ly["k"], ly["d"], flags, ly["cin"], ly["cout"], ly["w"].size, 0
        )
    for ly in model["layers"]:
        wb = pack4(ly["w"]) if _w4(ly) else np.asarray(ly["w"], np.int8).tobytes()
        body += wb + bytes(-len(wb) % 4)
        for name in ("bias", "mult", "shift", "rmul")[: 4 if ly["residual"] else 3]:
            body += np.asarray(ly[name], "<i4").tobytes()
    head = HEADER.pack(
        MAGIC,
        file_version(model),
        fe.FRONTEND_VERSION,
        len(body),
        zlib.crc32(body) & 0xFFFFFFFF,
        model["n_in"],
        model["n_out"],
        len(model["layers"]),
        model["out_kind"],
        0,
    )
    return bytes(head) + bytes(body)


def file_version(model):
    """1 for int8 models (what older firmware reads), 2 when a layer has 4-bit weights."""
    return 2 if any(_w4(ly) for ly in model["layers"]) else 1


def read(path):
    """Parse a .bin back into the model dict (host side; the device uses its own loader)."""
    data = Path(path).read_bytes()
    magic, ver, _fev, blen, crc, n_in, n_out, n_layers, out_kind, _ = HEADER.unpack_from(data)
    if magic != MAGIC or not 1 <= ver <= FORMAT_VERSION:
        raise HushwordError("%s: not a Hushword model (v1 to v%d)" % (path, FORMAT_VERSION))
    body = data[HEADER.size :]
    if len(body) != blen or zlib.crc32(body) & 0xFFFFFFFF != crc:
        raise HushwordError(f"{path}: truncated or corrupt (length/CRC)")
    table = np.frombuffer(body, "<u2", 256).copy()
    off = 512
    recs = []
    for _ in range(n_layers):
        recs.append(RECORD.unpack_from(body, off))
        off += RECORD.size
    layers = []
    for t, k, d, flags, cin, cout, nw, _ in recs:
        nb = nw // 2 if flags & 4 else nw
        raw = body[off : off + nb]
        w = unpack4(raw) if flags & 4 else np.frombuffer(raw, np.int8).copy()
        off += nb + (-nb % 4)
        ly = {"type": nn.TYPE_NAMES[t], "k": k, "d": d, "cin": cin, "cout": cout}
        ly["bits"] = 4 if flags & 4 else 8
        ly["relu"], ly["residual"] = bool(flags & 1), bool(flags & 2)
        ly["w"] = w.reshape(cout, k, 1 if t == nn.TYPE_DWCONV else cin)
        ly["rmul"] = np.zeros(cout, np.int32)
        for name in ("bias", "mult", "shift", "rmul")[: 4 if ly["residual"] else 3]:
            ly[name] = np.frombuffer(body, "<i4", cout, off).copy()
            off += 4 * cout
        layers.append(ly)
    return {"layers": layers, "out_kind": out_kind, "table": table, "n_in": n_in, "n_out": n_out}


def arena_bytes(model):
    """Working memory of the model in the firmware runtime (its rings, shared scratch, logits
    and probabilities), as ``hushword.nn.Net`` lays it out."""
    specs = [
        (
            TYPES[ly["type"]],
            ly["k"],
            ly["d"],
            ly["cin"],
            ly["cout"],
            ly["relu"],
            ly["residual"],
            _w4(ly),
        )
        for ly in model["layers"]
    ]
    return nn.Net(specs, model["out_kind"], nn.zeros("H", 256), use_viper=False).arena_bytes()


def macs_per_frame(model):
    return int(
        sum(
            ly["cout"] * ly["k"] * (1 if ly["type"] == "dwconv" else ly["cin"])
            for ly in model["layers"]
        )
    )


def export(layers, labels, kind, calib_features, out_base, input_scale=INPUT_SCALE, **fields):
    """Quantise, write ``out_base.bin`` + ``out_base.json``; returns the manifest dict.

    ``fields`` go into the manifest (e.g. ``name``, ``version``, ``probability_cutoff`` as a
    float or {label: float}, ``sliding_window`` frames, ``refractory_s``, ``warmup_frames``).
    """
    if kind not in ("wake", "command"):
        raise HushwordError("kind must be 'wake' or 'command'")
    labels = list(labels)
    n_out = layers[-1]["cout"]
    if n_out != len(labels):
        raise HushwordError("%d labels for %d outputs" % (len(labels), n_out))
    model = quantize(layers, calib_features, input_scale)
    blob = to_bytes(model)
    out_base = Path(out_base)
    cutoff = fields.pop("probability_cutoff", 0.5)
    if not isinstance(cutoff, dict):
        cutoff = {lb: float(cutoff) for lb in labels if lb not in NEVER_FIRE}
    manifest = {
        "name": fields.pop("name", out_base.name),
        "version": fields.pop("version", 1),
        "kind": kind,
        "labels": labels,
        "format_version": file_version(model),
        "features": dict(fe.SETTINGS),
        "input_scale": input_scale,
        "probability_cutoff": cutoff,
        "sliding_window": int(fields.pop("sliding_window", 5)),
        "refractory_s": float(fields.pop("refractory_s", 2.0)),
        "warmup_frames": int(fields.pop("warmup_frames", 50)),
        "macs_per_frame": macs_per_frame(model),
        "flash_bytes": len(blob),
        "arena_bytes": arena_bytes(model),
        "architecture": [
            "%s k%d d%d %d->%d%s%s%s"
            % (
                ly["type"],
                ly["k"],
                ly["d"],
                ly["cin"],
                ly["cout"],
                " relu" if ly["relu"] else "",
                " +res" if ly["residual"] else "",
                " int4" if _w4(ly) else "",
            )
            for ly in model["layers"]
        ],
    }
    manifest.update(fields)
    out_base.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_base.with_suffix(".bin.tmp")
    tmp.write_bytes(blob)
    tmp.replace(out_base.with_suffix(".bin"))
    out_base.with_suffix(".json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def default_architecture(n_out, channels=48, dilations=(1, 2, 4, 8), k=5, seed=0):
    """Randomly initialised float layers of the default architecture (for tests and bench)."""
    rng = np.random.default_rng(seed)

    def lay(t, k_, d, cin, cout, relu, res):
        shape = (
            (cout, 1, k_)
            if t == "dwconv"
            else ((cout, cin) if k_ == 1 and t != "conv" else (cout, cin, k_))
        )
        fan = k_ if t == "dwconv" else cin * k_
        w = rng.normal(0, 1.0 / np.sqrt(fan), shape).astype(np.float32)
        b = rng.normal(0, 0.05, cout).astype(np.float32)
        return {
            "type": t,
            "k": k_,
            "d": d,
            "cin": cin,
            "cout": cout,
            "relu": relu,
            "residual": res,
            "weight": w,
            "bias": b,
        }

    c = channels
    layers = [lay("conv", 3, 1, fe.N_MELS, c, True, False)]
    for d in dilations:
        layers.append(lay("dwconv", k, d, c, c, False, False))
        layers.append(lay("pw", 1, 1, c, c, True, True))
    layers.append(lay("dense", 1, 1, c, n_out, False, False))
    return layers
