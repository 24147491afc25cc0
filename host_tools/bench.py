"""`hushword bench`: what the pipeline costs. Per model: MACs per second of audio, flash
bytes; for the whole pipeline under the real MicroPython interpreter (viper kernels): RAM
(total allocation incl. weights, working memory, allocation per hop) and real-time factor on
synthetic speech-like audio; next to pymicro-wakeword (TFLite, CPython) on the same audio.

Without trained models in the models directory, a randomly initialised model of the default
architecture is benched and labelled as such.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from host_tools import reference
from host_tools.errors import HushwordError
from host_tools.paths import FIRMWARE, MODELS

TARGETS = {
    "wake_flash_bytes": 30 * 1024,
    "wake_macs_per_s": 1_000_000,
    "working_bytes": 24 * 1024,
    "total_bytes": 64 * 1024,
    "rtf": 0.02,
}

_SCRIPT = """
import sys, gc, time, json
sys.path.insert(0, %(fw)r)
from array import array
gc.collect()
base = gc.mem_alloc()
from hushword.pipeline import Pipeline
gc.collect()
code = gc.mem_alloc() - base
gc.collect()
b0 = gc.mem_alloc()
p = Pipeline(models_dir=%(models)r)
gc.collect()
total = gc.mem_alloc() - b0
weights = 0
for m in p.wake + p.command:
    for ly in m.net.layers:
        weights += len(ly.w) + 4 * len(ly.p)
f = open(%(pcm)r, "rb")
hops = []
while True:
    h = array("h", [0] * 320)
    if f.readinto(h) != 640:
        break
    hops.append(h)
gc.collect()
a0 = gc.mem_alloc()
gc.disable()
n_ev = 0
t0 = time.ticks_us()
for h in hops:
    ev = p.process(h)
    if ev:
        n_ev += len(ev)
el = time.ticks_diff(time.ticks_us(), t0)
grow = gc.mem_alloc() - a0
gc.enable()
fe_t0 = time.ticks_us()
out = bytearray(32)
for h in hops:
    p.fe.process(h, out)
fe_el = time.ticks_diff(time.ticks_us(), fe_t0)
print(json.dumps({"hops": len(hops), "us": el, "frontend_us": fe_el, "total_alloc": total,
    "weights": weights, "alloc_during_run": grow, "events": n_ev, "errors": p.errors,
    "import_bytes": code}))
"""


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--models", default=str(MODELS), metavar="DIR", help="model directory")
    parser.add_argument("--seconds", type=float, default=15.0, help="audio length (default 15)")
    parser.add_argument(
        "--port", help="run the on-device part on a board at this serial port (not supported)"
    )


def _audio(seconds):
    """Speech-like test audio: harmonic 'vowels' with pitch glides, sweeps, noise bursts."""
    rng = np.random.default_rng(0)
    sr = 16000
    t = np.arange(int(sr * seconds)) / sr
    f0 = 130 + 40 * np.sin(2 * np.pi * 2.5 * t)
    ph = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(h * ph) / h for h in range(1, 25)) * 3000 * (np.sin(2 * np.pi * 3 * t) > 0)
    x += 2000 * np.sin(2 * np.pi * (200 + 300 * (t % 2)) * t)
    x += rng.normal(0, 1500, len(t)) * ((t % 0.9) < 0.1) + rng.normal(0, 100, len(t))
    return np.clip(x, -32768, 32767).astype(np.int16)


def _random_models(d, audio):
    from host_tools import modelfile as mf

    f = reference.features(audio)
    mf.export(
        mf.default_architecture(1, 48),
        ["random_wake"],
        "wake",
        f,
        Path(d) / "wake",
        name="random-init wake (default architecture, C=48)",
        random_init=True,
    )
    labels = ["unknown", "on", "off", "stop", "louder", "quieter"]
    mf.export(
        mf.default_architecture(len(labels), 64),
        labels,
        "command",
        f,
        Path(d) / "command",
        name="random-init command (default architecture, C=64)",
        random_init=True,
    )


def _micropython(models_dir, audio):
    exe = reference.micropython_exe()
    if not exe:
        return {"error": "micropython interpreter not installed"}
    with tempfile.TemporaryDirectory() as d:
        pcm = Path(d) / "a.pcm"
        pcm.write_bytes(np.asarray(audio, "<i2").tobytes())
        script = Path(d) / "bench.py"
        script.write_text(
            _SCRIPT % {"fw": str(FIRMWARE), "models": str(models_dir), "pcm": str(pcm)}
        )
        r = subprocess.run([exe, str(script)], check=False, capture_output=True, text=True)
    if r.returncode:
        return {"error": "micropython failed: " + (r.stderr or r.stdout).strip()[-300:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def _pymicro(audio):
    try:
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
    except ImportError as e:
        return {"error": "pymicro-wakeword not installed (%s)" % e}
    mww = MicroWakeWord.from_builtin(Model.HEY_JARVIS)
    feats = MicroWakeWordFeatures()
    data = np.asarray(audio, "<i2").tobytes()
    t0 = time.perf_counter()
    for i in range(0, len(data), 640):
        for f in feats.process_streaming(data[i : i + 640]):
            mww.process_streaming(f)
    el = time.perf_counter() - t0
    return {
        "model": "hey_jarvis (builtin, TFLite)",
        "rtf": el / (len(audio) / 16000),
        "runtime": "CPython + TFLite Micro (native)",
    }


def measure(models_dir, seconds=15.0):
    audio = _audio(seconds)
    with tempfile.TemporaryDirectory() as tmp:
        models, errors = reference.load_models(models_dir)
        random_init = not models
        if random_init:
            _random_models(tmp, audio)
            models_dir = tmp
            models, errors = reference.load_models(tmp)
        per_model = []
        for name, kind, labels, man, q in models:
            from host_tools import modelfile as mf

            macs = mf.macs_per_frame(q)
            per_model.append(
                {
                    "name": name,
                    "kind": kind,
                    "labels": labels,
                    "macs_per_frame": macs,
                    "macs_per_s": macs * 50,
                    "flash_bytes": Path(models_dir, Path(_bin_of(models_dir, man, name)))
                    .stat()
                    .st_size
                    if _bin_of(models_dir, man, name)
                    else man.get("flash_bytes"),
                    "arena_bytes": mf.arena_bytes(q),
                    "random_init": bool(man.get("random_init", random_init)),
                }
            )
        mpy = _micropython(models_dir, audio)
    res = {
        "audio_s": seconds,
        "random_init": random_init,
        "models": per_model,
        "load_errors": errors,
        "targets": TARGETS,
    }
    if "error" not in mpy:
        audio_us = mpy["hops"] * 20000
        res["micropython"] = {
            "rtf": mpy["us"] / audio_us,
            "frontend_rtf": mpy["frontend_us"] / audio_us,
            "us_per_hop": mpy["us"] / max(1, mpy["hops"]),
            "total_bytes": mpy["total_alloc"],
            "weights_bytes": mpy["weights"],
            "working_bytes": mpy["total_alloc"] - mpy["weights"],
            "alloc_during_run": mpy["alloc_during_run"],
            "events": mpy["events"],
        }
    else:
        res["micropython"] = mpy
    res["pymicro_wakeword"] = _pymicro(audio)
    return res


def _bin_of(models_dir, man, name):
    for b in Path(models_dir).glob("*.bin"):
        j = b.with_suffix(".json")
        if j.exists() and json.loads(j.read_text()).get("name", b.stem) == name:
            return b
    return None


def run(args):
    if args.port:
        raise HushwordError(
            "bench --port is not supported yet: the on-device part runs only under the "
            "MicroPython unix port on this machine (deploy the firmware and watch "
            "'hushword monitor' for on-board timing)"
        )
    res = measure(args.models, args.seconds)
    if args.json:
        print(json.dumps(res))
        return 0
    tag = " (RANDOMLY INITIALISED, no trained models found)" if res["random_init"] else ""
    print("Hushword bench on %.0f s of synthetic speech-like audio%s" % (res["audio_s"], tag))
    for m in res["models"]:
        print(
            "  %-50s %-7s %8d MACs/s  %6d B flash  %5d B rings"
            % (m["name"], m["kind"], m["macs_per_s"], m["flash_bytes"], m["arena_bytes"])
        )
    mp = res["micropython"]
    if "error" in mp:
        print("  MicroPython: " + mp["error"])
    else:
        print(
            "  MicroPython (unix port, viper) whole pipeline: RTF %.2f%% (%.0f us/hop; "
            "frontend alone %.2f%%)"
            % (100 * mp["rtf"], mp["us_per_hop"], 100 * mp["frontend_rtf"])
        )
        print(
            "  RAM: total %d B (weights+params %d B, working %d B), %d B allocated while "
            "running"
            % (mp["total_bytes"], mp["weights_bytes"], mp["working_bytes"], mp["alloc_during_run"])
        )
    pm = res["pymicro_wakeword"]
    if "error" in pm:
        print("  pymicro-wakeword: " + pm["error"])
    else:
        print(
            "  pymicro-wakeword %s on %s: RTF %.2f%%"
            % (pm["model"], pm["runtime"], 100 * pm["rtf"])
        )
    print(
        "  targets: wake <= 30 KB flash, <= 1.0 M MACs/s; working <= 24 KB, total <= 64 KB;"
        " RTF <= 2%"
    )
    return 0
