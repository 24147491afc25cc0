"""Load a model: ``name.bin`` (int8 tensors, see host_tools/modelfile.py for the layout)
plus ``name.json`` (manifest). Tensors are read with readinto straight into the runtime's
preallocated buffers; the manifest only carries settings. Anything wrong raises ModelError
with a message naming the file; the caller keeps listening without that model.
"""

import json
import struct

from hushword import frontend, nn

try:
    from binascii import crc32
except ImportError:  # pragma: no cover
    crc32 = None

MAGIC = b"HWM1"
FORMAT_VERSION = 2  # v2 adds 4-bit weights (record flag 4); v1 files load unchanged
_HEADER = "<4sHHIIHHHBB"  # then 8 reserved bytes
_HEADER_SIZE = 32
_RECORD = "<BBBBHHII"
_RECORD_SIZE = 16
_MAX_LAYERS = 64
_MAX_CH = 256


class ModelError(Exception):
    pass


class _Reader:
    """Reads exact amounts and keeps the CRC of everything read."""

    def __init__(self, f, name, length):
        self.f = f
        self.name = name
        self.left = length
        self.crc = 0

    def into(self, buf, nbytes):
        """Fill buf (nbytes long; typed arrays and memoryviews of them are fine)."""
        if nbytes > self.left:
            raise ModelError(f"{self.name}: truncated (layer table points past the end)")
        if self.f.readinto(buf) != nbytes:  # files give full reads short of the end
            raise ModelError(f"{self.name}: truncated")
        self.left -= nbytes
        if crc32:
            self.crc = crc32(buf, self.crc)
        return buf


def _int(v, lo, hi, what, name):
    if not (lo <= v <= hi):
        raise ModelError(f"{name}: bad {what} {v!r}")
    return v


def read_manifest(path):
    try:
        with open(path) as f:
            m = json.load(f)
    except OSError:
        raise ModelError(f"{path}: manifest missing")
    except ValueError:
        raise ModelError(f"{path}: manifest is not valid JSON")
    if not isinstance(m, dict):
        raise ModelError(f"{path}: manifest is not an object")
    feats = m.get("features")
    if not isinstance(feats, dict):
        raise ModelError(f"{path}: manifest has no feature settings")
    for k, v in frontend.SETTINGS.items():
        if feats.get(k) != v:
            raise ModelError(
                f"{path}: made for features {k}={feats.get(k)!r}, this firmware has {v!r}"
            )
    if m.get("kind") not in ("wake", "command"):
        raise ModelError(f"{path}: kind must be 'wake' or 'command'")
    labels = m.get("labels")
    if not isinstance(labels, list) or not labels:
        raise ModelError(f"{path}: no labels")
    _check_detection(m, path)
    return m


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_detection(m, path):
    """The detection settings: a manifest that says cutoff 5 (never fires) or window 0 is a
    damaged file, not a setting."""
    cut = m.get("probability_cutoff", 0.5)
    cuts = cut if isinstance(cut, dict) else {None: cut}
    for lb, c in cuts.items():
        if lb is not None and lb not in m["labels"]:
            raise ModelError(f"{path}: probability_cutoff names {lb!r}, not one of its labels")
        if not _number(c) or not 0 <= c <= 1:
            raise ModelError(f"{path}: probability_cutoff {c!r} is not a probability 0..1")
    for key, default, lo, hi, whole in (
        ("sliding_window", 5, 1, 50, True),
        ("refractory_s", 2.0, 0, 60, False),
        ("warmup_frames", 50, 0, 1000, True),
    ):
        v = m.get(key, default)
        if not _number(v) or (whole and not isinstance(v, int)) or not lo <= v <= hi:
            kind = "a whole number" if whole else "a number"
            raise ModelError(f"{path}: {key} {v!r} is not {kind} {lo}..{hi}")


def load(bin_path, json_path, use_viper=True):
    """Return (nn.Net, manifest) or raise ModelError."""
    manifest = read_manifest(json_path)
    name = bin_path
    try:
        f = open(bin_path, "rb")
    except OSError:
        raise ModelError(f"{name}: cannot open")
    try:
        return _load(f, name, len(manifest["labels"]), use_viper), manifest
    except MemoryError:
        raise ModelError(f"{name}: not enough memory for this model")
    finally:
        f.close()


def _load(f, name, n_labels, use_viper):
    head = f.read(_HEADER_SIZE)
    if len(head) < _HEADER_SIZE or head[:4] != MAGIC:
        raise ModelError(f"{name}: not a Hushword model file (bad magic)")
    _magic, ver, fev, blen, crc, n_in, n_out, n_layers, out_kind, _ = struct.unpack(
        _HEADER, head[:24]
    )
    if not 1 <= ver <= FORMAT_VERSION:
        raise ModelError(
            "%s: format version %d, firmware reads 1 to %d" % (name, ver, FORMAT_VERSION)
        )
    if fev != frontend.FRONTEND_VERSION:
        raise ModelError(
            "%s: made for frontend v%d, firmware has v%d" % (name, fev, frontend.FRONTEND_VERSION)
        )
    _int(n_in, frontend.N_MELS, frontend.N_MELS, "input size", name)
    _int(n_layers, 1, _MAX_LAYERS, "layer count", name)
    _int(out_kind, 0, 1, "output kind", name)
    r = _Reader(f, name, blen)
    table = r.into(nn.zeros("H", 256), 512)
    recs = bytearray(_RECORD_SIZE * n_layers)
    r.into(recs, len(recs))
    specs = []
    cin_expect = n_in
    prev_cin = 0
    for i in range(n_layers):
        t, k, d, flags, cin, cout, nw, _ = struct.unpack_from(_RECORD, recs, i * _RECORD_SIZE)
        _int(t, 0, 3, "layer type", name)
        _int(k, 1, 16, "kernel size", name)
        _int(d, 1, 64, "dilation", name)
        _int(cout, 1, _MAX_CH, "channels", name)
        if cin != cin_expect:
            raise ModelError(
                "%s: layer %d has %d inputs, expected %d" % (name, i, cin, cin_expect)
            )
        if t == nn.TYPE_DWCONV and cin != cout:
            raise ModelError("%s: layer %d: depthwise conv needs cin == cout" % (name, i))
        if t in (nn.TYPE_PW, nn.TYPE_DENSE) and k != 1:
            raise ModelError("%s: layer %d: 1x1 layer with k=%d" % (name, i, k))
        if flags & 2 and (i == 0 or prev_cin != cout):
            raise ModelError("%s: layer %d: residual shape mismatch" % (name, i))
        if nw != nn.weight_count(t, k, cin, cout):
            raise ModelError("%s: layer %d: weight size mismatch" % (name, i))
        w4 = bool(flags & 4)
        if w4 and (ver < 2 or not nn.w4_ok(t, cin)):
            raise ModelError("%s: layer %d: 4-bit weights not allowed here" % (name, i))
        specs.append((t, k, d, cin, cout, bool(flags & 1), bool(flags & 2), w4))
        prev_cin = cin
        cin_expect = cout
    recs = None
    if cin_expect != n_out or n_out != n_labels:
        raise ModelError("%s: %d outputs, manifest has %d labels" % (name, cin_expect, n_labels))
    net = nn.Net(specs, out_kind, table, use_viper=use_viper)
    specs = table = None
    # The file keeps v1's int32 bias, mult, shift[, rmul] per channel; they are read straight
    # into the packed block (bias -> A, mult -> B) and shift/rmul through one small buffer.
    tmp = nn.zeros("i", _MAX_CH)
    tv = memoryview(tmp)
    pad = bytearray(4)
    bad = None  # reported after the CRC check: corruption is the likelier cause
    for i in range(n_layers):
        w, a, b, cout, res = net.tensors(i)
        r.into(w, len(w))
        if len(w) % 4:
            r.into(memoryview(pad)[: 4 - len(w) % 4], 4 - len(w) % 4)
        r.into(a, 4 * cout)
        r.into(b, 4 * cout)
        r.into(tv[:cout], 4 * cout)
        for c in range(cout):  # the kernels' 32-bit arithmetic relies on these ranges
            s = tmp[c]
            if not (nn.SHIFT_MIN <= s <= nn.SHIFT_MAX) or not (0 <= b[c] < nn.MULT_LIMIT):
                bad = bad or "requantisation out of range"
            elif not (-nn.BIAS_LIMIT < a[c] < nn.BIAS_LIMIT):
                bad = bad or "bias out of range"
            else:
                a[c] = (a[c] << 5) | (s - nn.SHIFT_MIN)
        if res:
            r.into(tv[:cout], 4 * cout)
            for c in range(cout):
                if 0 <= tmp[c] < nn.RMUL_LIMIT and 0 <= b[c] < nn.MULT_LIMIT:
                    b[c] = b[c] | (tmp[c] << 18)
                else:
                    bad = bad or "residual scale out of range"
    if r.left:
        raise ModelError("%s: %d unexpected bytes after the tensors" % (name, r.left))
    if f.read(1):
        raise ModelError(f"{name}: trailing data after the declared length")
    if crc32 and (r.crc & 0xFFFFFFFF) != crc:
        raise ModelError(f"{name}: CRC mismatch (corrupt file)")
    if bad:
        raise ModelError(f"{name}: {bad}")
    return net
