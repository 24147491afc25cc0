"""Numpy reference of the device pipeline, bit-exact with firmware/hushword.

``features(samples)`` is what training must use to make features (the device computes the
same bits, frame by frame). ``quantized_forward_numpy(model, feats)`` runs an int8 model over a
whole feature sequence at once; ``run(samples, models_dir)`` gives the detection events the
device would emit. The firmware modules supply every constant and table, so nothing numeric is
written twice; the tests compare these functions with the firmware under CPython and under
the real MicroPython interpreter.
"""

import sys

import numpy as np

from host_tools.paths import FIRMWARE

if str(FIRMWARE) not in sys.path:
    sys.path.insert(0, str(FIRMWARE))

from hushword import frontend as fe

_POW2 = np.int64(1) << np.arange(63, dtype=np.int64)


def _bitlen(v):
    """Exact bit length of non-negative int64 values (0 -> 0)."""
    return np.searchsorted(_POW2, v, side="right").astype(np.int64)


def _shift(v, s):
    """v >> s for s >= 0, v << -s otherwise (floor semantics like Python and viper)."""
    return np.where(s >= 0, v >> np.maximum(s, 0), v << np.maximum(-s, 0))


def _tables():
    hann = np.array(fe.HANN_Q15, dtype=np.int64)
    win = np.concatenate([hann, hann[::-1]])
    sn = np.array(fe.SIN_Q15, dtype=np.int64)
    rev = np.array(fe.BITREV, dtype=np.int64)
    stages = []
    size, tstep = 2, 256
    while size <= 256:
        half = size >> 1
        a = (np.arange(0, 256, size)[:, None] + np.arange(half)[None, :]).ravel()
        k = np.tile(np.arange(half) * tstep, 256 // size)
        stages.append((a, a + half, sn[k], sn[k + 128]))
        size, tstep = size << 1, tstep >> 1
    k = np.arange(2, 244)
    melw = np.zeros((len(k), fe.N_MELS), dtype=np.int64)
    for i, (j, w) in enumerate(zip(fe.MEL_SEG, fe.MEL_W)):
        if j < fe.N_MELS:
            melw[i, j] += w
        if j > 0:
            melw[i, j - 1] += 256 - w
    return win, sn, rev, stages, k, melw, np.array(fe.LOG2_Q4, dtype=np.int64)


_T = None


def log_mel(samples):
    """Per-frame log-mel ``L`` (Q4 log2 units, int64 [frames, N_MELS]) before normalisation."""
    global _T
    if _T is None:
        _T = _tables()
    win, sn, rev, stages, k, melw, logt = _T
    x = np.asarray(samples, dtype=np.int16).astype(np.int64).ravel()
    n = len(x) // fe.HOP
    if n == 0:
        return np.zeros((0, fe.N_MELS), dtype=np.int64)
    x = np.concatenate([np.zeros(fe.WINDOW - fe.HOP, np.int64), x[: n * fe.HOP]])
    idx = np.arange(n)[:, None] * fe.HOP + np.arange(fe.WINDOW)[None, :]
    p = x[idx] * win
    m = np.abs(p).max(axis=1)
    zero = m == 0
    r = _bitlen(m) - 13
    y = _shift(p, r[:, None])
    y = np.concatenate([y, np.zeros((n, fe.FFT_SIZE - fe.WINDOW), np.int64)], axis=1)
    zr = y[:, 0::2][:, rev]
    zi = y[:, 1::2][:, rev]
    for a, b, s, c in stages:
        br, bi = zr[:, b], zi[:, b]
        tr = (br * c + bi * s) >> 15
        ti = (bi * c - br * s) >> 15
        ar, ai = zr[:, a], zi[:, a]
        zr[:, a], zi[:, a] = (ar + tr) >> 1, (ai + ti) >> 1
        zr[:, b], zi[:, b] = (ar - tr) >> 1, (ai - ti) >> 1
    ar, ai = zr[:, k], zi[:, k]
    cr, ci = zr[:, 256 - k], zi[:, 256 - k]
    er, ei = (ar + cr) >> 1, (ai - ci) >> 1
    o_r, oi = (ai + ci) >> 1, (cr - ar) >> 1
    c, s = sn[k + 128], sn[k]
    xr = er + ((c * o_r + s * oi) >> 15)
    xi = ei + ((c * oi - s * o_r) >> 15)
    mel = ((xr * xr + xi * xi) >> 7) @ melw
    nb = _bitlen(mel) - 1
    t = _shift(mel, nb - 6)
    lv = np.where(nb >= 0, 16 * nb + logt[np.clip(t - 64, 0, 63)], 0) + 32 * r[:, None]
    lv[zero] = fe.ZERO_LOG
    return lv


def features(samples):
    """int16 mono 16 kHz samples -> np.int8 [len // HOP, N_MELS], as the device computes."""
    lv = log_mel(samples)
    out = np.empty(lv.shape, dtype=np.int8)
    fmin = fe.FLOOR_MIN << 8
    f = None
    for i in range(len(lv)):
        lq = lv[i] << 8
        if f is None:
            f = lq
        else:
            d = lq - f
            f = f + np.where(d < 0, d >> fe.FLOOR_FALL, d >> fe.FLOOR_RISE)
        f = np.maximum(f, fmin)
        out[i] = np.clip(((lv[i] - (f >> 8)) >> 1) + fe.FEAT_OFFSET, -128, 127)
    return out


# ---- the firmware itself under the real MicroPython interpreter (tests, bench) ----

_MPY_SCRIPT = """
import sys, json
sys.path.insert(0, %(fw)r)
from array import array
what, pcm, out_path = %(what)r, %(pcm)r, %(out)r
f = open(pcm, "rb")
hop = array("h", [0] * 320)
mv = memoryview(hop)
if what == "features":
    from hushword.frontend import Frontend
    fe = Frontend()
    feat = bytearray(32)
    o = open(out_path, "wb")
    while f.readinto(mv) == 640:
        fe.process(hop, feat)
        o.write(feat)
    o.close()
else:
    from hushword.pipeline import Pipeline
    p = Pipeline(models_dir=%(models)r, commands_anytime=%(anytime)r)
    o = open(out_path, "w")
    o.write(json.dumps({"errors": p.errors}) + "\\n")
    while f.readinto(mv) == 640:
        ev = p.process(hop)
        if ev:
            for e in ev:
                o.write(json.dumps(e) + "\\n")
    o.close()
"""


def micropython_exe():
    import shutil
    from pathlib import Path

    exe = Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else shutil.which("micropython")


def run_micropython(samples, what="features", models_dir=None, commands_anytime=False):
    """Run the firmware under the micropython interpreter on samples.

    what="features" -> np.int8 [frames, N_MELS]; what="events" -> (errors, list of events).
    """
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    exe = micropython_exe()
    if not exe:
        raise RuntimeError("the micropython interpreter is not installed")
    x = np.asarray(samples, dtype="<i2").ravel()
    with tempfile.TemporaryDirectory() as d:
        pcm, out = Path(d) / "in.pcm", Path(d) / "out"
        pcm.write_bytes(x.tobytes())
        script = _MPY_SCRIPT % {
            "fw": str(FIRMWARE),
            "what": what,
            "pcm": str(pcm),
            "out": str(out),
            "models": str(models_dir),
            "anytime": bool(commands_anytime),
        }
        (Path(d) / "run.py").write_text(script)
        r = subprocess.run(
            [exe, str(Path(d) / "run.py")], check=False, capture_output=True, text=True
        )
        if r.returncode:
            raise RuntimeError("micropython failed: " + (r.stderr or r.stdout)[-2000:])
        if what == "features":
            return np.frombuffer(out.read_bytes(), np.int8).reshape(-1, fe.N_MELS)
        lines = [json.loads(s) for s in out.read_text().splitlines()]
        return lines[0]["errors"], lines[1:]
