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


# ---- int8 models ----


def _requant(acc, mult, shift):
    return (acc * mult + (np.int64(1) << (shift - 1))) >> shift


def quantized_forward_numpy(model, feats):
    """Quantised model (``host_tools.modelfile.read``/``quantize`` dict) on int8 features
    [frames, 32] -> (probs uint8 [frames, n_out], logits int8 [frames, n_out]); bit-exact
    with ``hushword.nn.Net.push`` frame by frame from a fresh state."""
    x = np.asarray(feats, np.int64).reshape(-1, fe.N_MELS)
    prev_in = None
    for ly in model["layers"]:
        k, d = ly["k"], ly["d"]
        w = np.asarray(ly["w"], np.int64)  # [cout][k][cin_pg]
        acc = np.broadcast_to(np.asarray(ly["bias"], np.int64), (len(x), ly["cout"])).copy()
        t = len(x)
        for j in range(k):
            s = (k - 1 - j) * d
            if s >= t:
                continue
            xs = x[: t - s]
            if ly["type"] == "dwconv":
                acc[s:] += xs * w[:, j, 0]
            else:
                acc[s:] += xs @ w[:, j, :].T
        if ly["residual"]:
            acc += prev_in * np.asarray(ly["rmul"], np.int64)
        y = _requant(acc, np.asarray(ly["mult"], np.int64), np.asarray(ly["shift"], np.int64))
        y = np.clip(y, 0 if ly["relu"] else -127, 127)
        prev_in, x = x, y
    logits = x
    table = np.asarray(model["table"], np.int64)
    if model["out_kind"] == 0:
        probs = table[logits + 128]
    else:
        e = table[logits.max(axis=1, keepdims=True) - logits]
        tot = e.sum(axis=1, keepdims=True)
        probs = (e * 255 + (tot >> 1)) // tot
    return probs.astype(np.uint8), logits.astype(np.int8)


def load_models(models_dir, cutoffs=None):
    """(models, errors): models = list of (name, kind, labels, manifest, qmodel), in the
    order and with the checks of the firmware Pipeline. `cutoffs` {name: cutoff} replaces
    those models' probability_cutoff, as `hushword cutoff` does on a board."""
    from pathlib import Path

    from hushword.modelfile import ModelError, load

    from host_tools import modelfile as mf

    models, errors = [], []
    d = Path(models_dir)
    if not d.is_dir():
        return models, [f"models directory {models_dir} not found"]
    for j in sorted(d.glob("*.json")):  # as the board reports it
        if not j.with_suffix(".bin").exists():
            errors.append(f"{j}: no {j.stem}.bin beside it")
    for b in sorted(d.glob("*.bin")):
        base = str(d / b.stem)
        try:
            load(base + ".bin", base + ".json", use_viper=False)  # the device's checks
            m = mf.read(base + ".bin")
        except ModelError as e:
            errors.append(str(e))
            continue
        except Exception as e:
            errors.append(f"{base}.bin: {e}")
            continue
        import json

        man = json.loads(Path(base + ".json").read_text())
        name = man.get("name", b.stem)
        if cutoffs and name in cutoffs:  # the labels that fire, as on the board
            own, v = man.get("probability_cutoff", 0.5), cutoffs[name]
            man["probability_cutoff"] = {lb: v for lb in own} if isinstance(own, dict) else v
        models.append((name, man["kind"], man["labels"], man, m))
    if not any(m[1] == "wake" for m in models):
        errors.append(f"no usable wake word model in {models_dir}: listening only")
    return models, errors


# A recording played to the pipeline is preceded by PREROLL_S of its own quietest
# QUIET_PIECE_S: a board that has been listening has its noise floor settled on the room, and
# a file that starts with the word would otherwise set the floor at the word's own level.
PREROLL_S = 1.0
QUIET_PIECE_S = 0.2


def preroll(x, seconds=PREROLL_S, piece_s=QUIET_PIECE_S):
    """`seconds` of the clip's quietest `piece_s` stretch, repeated (zeros for a short clip)."""
    n, piece = int(seconds * fe.SAMPLE_RATE), int(piece_s * fe.SAMPLE_RATE)
    if len(x) < piece:
        return np.zeros(n, np.int16)
    xf = np.asarray(x, np.float64)
    starts = np.arange(0, len(x) - piece + 1, piece // 4)
    energy = np.array([np.mean(xf[s : s + piece] ** 2) for s in starts])
    s = starts[int(np.argmin(energy))]
    return np.resize(np.asarray(x[s : s + piece], np.int16), n)


def run_recording(x, models_dir, commands_anytime=False, models=None, settle=True):
    """(events, features, pre-roll samples) for a recording, as a board that had been
    listening before it started would report them: after preroll(x) when `settle`, with
    event times counted from the start of the recording (none inside the pre-roll)."""
    pre = preroll(x) if settle else np.zeros(0, np.int16)
    audio = np.concatenate([pre, np.asarray(x, np.int16)])
    feats = features(audio)
    evs = run(audio, models_dir, commands_anytime, models=models, feats=feats)
    t0 = len(pre) / fe.SAMPLE_RATE
    evs = [dict(e, t=round(e["t"] - t0, 3)) for e in evs if e["t"] > t0]
    return evs, feats, len(pre)


def run(
    samples, models_dir, commands_anytime=False, command_window_s=3.0, models=None, feats=None
):
    """Detection events for samples, as the device's Pipeline emits them (same order);
    `feats`: features(samples), when the caller has them already."""
    from hushword.detector import Detector

    if models is None:
        models, _ = load_models(models_dir)
    if feats is None:
        feats = features(samples)
    fps = fe.FRAMES_PER_S
    wake, cmd = [], []
    for name, kind, labels, man, q in models:
        probs = quantized_forward_numpy(q, feats)[0].tolist()  # Python ints, as on the device
        det = Detector(
            labels,
            man.get("probability_cutoff", 0.5),
            window=man.get("sliding_window", 5),
            refractory=int(float(man.get("refractory_s", 2.0)) * fps),
            warmup=man.get("warmup_frames", 50),
        )
        (wake if kind == "wake" else cmd).append((name, labels, probs, det))
    events = []
    window_frames = int(command_window_s * fps)
    left = 0

    def ev(kind, name, labels, det, i, frame):
        return {
            "ev": kind,
            "label": labels[i],
            "score": round(det.score / 255, 3),
            "t": round((frame + 1) * fe.HOP / fe.SAMPLE_RATE, 3),
            "model": name,
        }

    for t in range(len(feats)):
        open_ = commands_anytime or left > 0
        for name, labels, probs, det in cmd:
            i = det.update(probs[t], open_)
            if i >= 0:
                events.append(ev("command", name, labels, det, i, t))
                if not commands_anytime:
                    left = 0
        if left > 0:
            left -= 1
        for name, labels, probs, det in wake:
            i = det.update(probs[t])
            if i >= 0:
                events.append(ev("wake", name, labels, det, i, t))
                left = window_frames
    return events
