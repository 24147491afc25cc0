"""`hushword bench`: what the pipeline costs.

Host figures (from the model files): MACs per second of audio and flash bytes per model, and
the RAM each model's buffers take in the firmware runtime. Device figures (the firmware itself
under MicroPython, viper kernels): RAM the whole pipeline holds (weights, parameters, rings,
frontend, detectors, the app's hop buffer), an upper bound of the peak while loading, bytes
allocated while listening, free heap, microseconds per hop and real-time factor. They come
from the MicroPython unix port on this machine, or with ``--port`` from a board (or the
simulated board): the models are copied to the board, a bench script runs in its raw REPL on
audio it synthesises itself, and the board is soft-reset afterwards so its app restarts.

Without trained models in the models directory, randomly initialised models of the default
architectures are benched and every figure says so. Nothing here measures an ESP32: the
ESP32-S3 line is an estimate from MACs and a stated cycles-per-MAC assumption.
"""

import json
import os
import platform
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
ESP32S3_HZ = 240_000_000
# Assumed cost of one int8 MAC in the viper inner loop on the ESP32-S3's Xtensa LX7: no SIMD,
# two byte loads, two sign fix-ups, a multiply, an add, index arithmetic and the loop branch.
# Not measured (no board here): a range, and the estimate says so.
ESP32S3_CYCLES_PER_MAC = (10, 20)
DEVICE_DIR = "hwbench"  # where --port puts the models on the board (removed afterwards)

# Runs under MicroPython (unix port or a board). Prints one line: HWBENCH {json}.
_SCRIPT = """
import gc, sys, time
from array import array
if %(fw)r:
    sys.path.insert(0, %(fw)r)
gc.collect()
m0 = gc.mem_alloc()
code = None if "hushword.pipeline" in sys.modules else 0  # already imported by the app
from hushword.pipeline import Pipeline
from hushword.frontend import Frontend
gc.collect()
if code is not None:
    code = gc.mem_alloc() - m0


def synth(h, k, st):
    # speech-like: 0.5 s of voiced saw at two pitches, of noise, and near-silence, in turn
    s = st[0]
    mode = (k // 25) %% 4
    per = 123 if mode == 0 else 97
    t = k * 320
    for n in range(320):
        s = (s * 75 + 74) %% 65537
        nz = (s & 1023) - 512
        if mode == 1:
            v = nz * 12
        elif mode == 3:
            v = nz >> 3
        else:
            v = (t + n) %% per * 12000 // per - 6000 + nz * 4
        h[n] = v
    st[0] = s


gc.collect()
b0 = gc.mem_alloc()
load = None
if %(peak)r:
    gc.disable()  # nothing is freed while loading: the allocation bounds the peak from above
try:
    _w = %(wake)r
    try:
        __import__("os").stat(%(models)r + "/" + _w[0] + ".bin")
    except OSError:
        _w = None  # no model of that name here (e.g. random-init models): load all
    p = Pipeline(models_dir=%(models)r, wake_words=_w)
    hop = array("h", bytes(640))  # the app's one hop of samples
    if %(peak)r:
        load = gc.mem_alloc() - b0
finally:
    gc.enable()
gc.collect()
total = gc.mem_alloc() - b0
weights = 0
arena = 0
for m in p.wake + p.command:
    weights += m.net.weight_bytes()
    arena += m.net.arena_bytes()


def timed(p, hop, hops):
    # a function, so the loop's variables are locals (a new global would allocate)
    st = [1]
    us = worst = quiet = ev_alloc = n_ev = 0
    for k in range(hops):
        synth(hop, k, st)
        gc.disable()
        a0 = gc.mem_alloc()
        t0 = time.ticks_us()
        ev = p.process(hop)
        dt = time.ticks_diff(time.ticks_us(), t0)
        da = gc.mem_alloc() - a0
        gc.enable()
        us += dt
        if dt > worst:
            worst = dt
        if ev:
            n_ev += len(ev)
            ev_alloc += da
        else:
            quiet += da
    return us, worst, quiet, ev_alloc, n_ev


us, worst, quiet, ev_alloc, n_ev = timed(p, hop, %(hops)d)
fe = Frontend()
out = bytearray(32)
st = [1]
fe_us = 0
for k in range(%(hops)d):
    synth(hop, k, st)
    t0 = time.ticks_us()
    fe.process(hop, out)
    fe_us += time.ticks_diff(time.ticks_us(), t0)
fe = None
gc.collect()
mach = sys.platform
try:
    import os
    mach = os.uname().machine
except Exception:
    pass
freq = None
try:
    import machine
    freq = machine.freq()
except Exception:
    pass
print("HWBENCH", repr({"hops": %(hops)d, "us": us, "worst_us": worst, "frontend_us": fe_us,
    "total": total, "load_peak": load, "weights": weights, "arena": arena, "code": code,
    "quiet_alloc": quiet, "event_alloc": ev_alloc, "events": n_ev, "free": gc.mem_free(),
    "errors": p.errors, "models": [m.name for m in p.wake + p.command],
    "platform": sys.platform, "machine": mach, "freq": freq,
    "bits": 64 if sys.maxsize > 0xFFFFFFFF else 32,
    "impl": "%%s %%s" %% (sys.implementation.name, ".".join(str(v) for v in sys.implementation.version[:3]))}))
"""


def _wake_words():
    """The device's configuration: one wake word (the default) next to the command model;
    HUSHWORD_BENCH_WAKE=alexa benches another one."""
    import os

    from hushword.app import DEFAULT_WAKE_WORD

    return (os.environ.get("HUSHWORD_BENCH_WAKE") or DEFAULT_WAKE_WORD,)


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--models",
        default=str(MODELS),
        metavar="DIR",
        help="model directory (default: %(default)s)",
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="audio length (default 15)")
    parser.add_argument(
        "--port",
        help="also run the device part on the board (or simulated board) at this serial port: "
        "the models are copied to :/%s, timed there and removed; the board is soft-reset "
        "afterwards" % DEVICE_DIR,
    )
    parser.add_argument(
        "--baud", type=int, default=115200, help="serial baud rate with --port (default 115200)"
    )
    parser.add_argument(
        "--soft-reset",
        action="store_true",
        help="with --port: soft-reset into the raw REPL first, so the board's app (which does "
        "not start in the raw REPL) holds no RAM during the bench",
    )


def _random_models(d, audio):
    from host_tools import modelfile as mf

    try:  # the command set training uses (10 commands, unknown, background)
        from host_tools.train.corpus import COMMAND_LABELS
    except Exception:  # noqa: BLE001 (a half-edited training package must not stop bench)
        COMMAND_LABELS = ["cmd%d" % i for i in range(10)] + ["unknown", "background"]

    f = reference.features(audio)
    wc = 48
    mf.export(
        mf.default_architecture(1, wc),
        ["random_wake"],
        "wake",
        f,
        Path(d) / "wake",
        name="random-init wake (default architecture, C=%d)" % wc,
        random_init=True,
    )
    cc = mf.DEFAULT_COMMAND_CHANNELS
    mf.export(
        mf.default_architecture(len(COMMAND_LABELS), cc),
        COMMAND_LABELS,
        "command",
        f,
        Path(d) / "command",
        name="random-init command (default architecture, C=%d, %d labels)"
        % (cc, len(COMMAND_LABELS)),
        random_init=True,
    )


def _audio(seconds):
    """Speech-like audio for the host-side calibration of random-init models."""
    rng = np.random.default_rng(0)
    sr = 16000
    t = np.arange(int(sr * seconds)) / sr
    f0 = 130 + 40 * np.sin(2 * np.pi * 2.5 * t)
    ph = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(h * ph) / h for h in range(1, 25)) * 3000 * (np.sin(2 * np.pi * 3 * t) > 0)
    x += 2000 * np.sin(2 * np.pi * (200 + 300 * (t % 2)) * t)
    x += rng.normal(0, 1500, len(t)) * ((t % 0.9) < 0.1) + rng.normal(0, 100, len(t))
    return np.clip(x, -32768, 32767).astype(np.int16)


def _script(models, hops, fw="", peak=False):
    return _SCRIPT % {
        "fw": fw,
        "models": models,
        "hops": hops,
        "peak": peak,
        "wake": _wake_words(),
    }


def _parse(out):
    import ast

    for line in out.splitlines():
        if line.startswith("HWBENCH "):
            return ast.literal_eval(line[8:])
    raise HushwordError("bench script gave no result: " + out.strip()[-300:])


def _local(models_dir, hops):
    exe = reference.micropython_exe()
    if not exe:
        return {"error": "micropython interpreter not installed"}
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "bench.py"
        script.write_text(_script(str(models_dir), hops, str(FIRMWARE), peak=True))
        r = subprocess.run(["nice", exe, str(script)], check=False, capture_output=True, text=True)
    if r.returncode:
        return {"error": "micropython failed: " + (r.stderr or r.stdout).strip()[-300:]}
    raw = _parse(r.stdout)
    raw["where"] = "MicroPython unix port on this machine (%s)" % _machine()
    return _device_figures(raw)


def _on_port(port, baud, models_dir, hops, soft_reset=False):
    """Copy the models to the board, run the bench script in its raw REPL, clean up."""
    from mpremote.transport import TransportError, TransportExecError

    from host_tools.deploy import connect

    t = connect(port, baud, soft_reset=soft_reset)
    try:
        if not t.fs_exists(DEVICE_DIR):
            t.fs_mkdir(DEVICE_DIR)
        copied = []
        for f in sorted(Path(models_dir).iterdir()):
            if f.suffix in (".bin", ".json"):
                t.fs_writefile("%s/%s" % (DEVICE_DIR, f.name), f.read_bytes())
                copied.append(f.name)
        try:
            out, err = t.exec_raw(_script(DEVICE_DIR, hops), timeout=max(60, hops))
        finally:
            for name in copied:
                t.fs_rmfile("%s/%s" % (DEVICE_DIR, name))
            t.fs_rmdir(DEVICE_DIR)
        if err:
            msg = err.decode(errors="replace").strip().splitlines()
            hint = (
                " (is the firmware deployed? hushword deploy)"
                if "hushword" in err.decode(errors="replace")
                else ""
            )
            raise HushwordError("bench on %s failed: %s%s" % (port, msg[-1] if msg else "", hint))
        raw = _parse(out.decode(errors="replace"))
        _restart_app(t)
    except (TransportError, TransportExecError, OSError) as e:
        raise HushwordError("bench on %s: %s" % (port, e)) from None
    finally:
        t.close()
    where = "board at %s: %s, %s" % (port, raw["machine"], raw["impl"])
    if raw.get("freq"):
        where += ", CPU %d MHz" % (raw["freq"] // 1_000_000)
    raw["where"] = where
    raw["app_resident"] = not soft_reset
    return _device_figures(raw)


def _restart_app(t):
    """Back to the friendly REPL, then Ctrl-D there: a soft reboot that runs main.py."""
    t.exit_raw_repl()
    t.read_until(1, b">>> ", timeout=2, timeout_overall=5)
    t.serial.write(b"\x04")
    t.read_until(1, b'"ev": "boot"', timeout=5, timeout_overall=15)  # listening again


def _device_figures(raw):
    audio_us = raw["hops"] * 20000
    hops = max(1, raw["hops"])
    return {
        "where": raw["where"],
        "runtime": raw["impl"] + " (viper kernels)",
        "platform": raw["platform"],
        "models": raw["models"],
        "errors": raw["errors"],
        "hops": raw["hops"],
        "rtf": raw["us"] / audio_us,
        "us_per_hop": raw["us"] / hops,
        "worst_us_per_hop": raw["worst_us"],
        "frontend_rtf": raw["frontend_us"] / audio_us,
        "frontend_us_per_hop": raw["frontend_us"] / hops,
        "total_bytes": raw["total"],
        "weights_bytes": raw["weights"],
        "working_bytes": raw["total"] - raw["weights"],
        "nets_arena_bytes": raw["arena"],
        "load_peak_bytes": raw["load_peak"],
        "code_bytes": raw["code"],
        "free_bytes": raw["free"],
        "alloc_quiet_hops": raw["quiet_alloc"],
        "alloc_per_quiet_hop": raw["quiet_alloc"] / max(1, hops - raw["events"]),
        "alloc_for_events": raw["event_alloc"],
        "events": raw["events"],
        "alloc_during_run": raw["quiet_alloc"] + raw["event_alloc"],
        "nets_us_per_hop": (raw["us"] - raw["frontend_us"]) / hops,
        "pointer_bits": raw["bits"],
        "app_resident": raw.get("app_resident", False),
    }


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %s, %d CPUs" % (platform.machine(), cpu, os.cpu_count() or 1)


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


def _esp32s3_estimate(per_model):
    macs = sum(m["macs_per_s"] for m in per_model)
    lo, hi = (macs * c / ESP32S3_HZ for c in ESP32S3_CYCLES_PER_MAC)
    return {
        "estimate": True,
        "macs_per_s": macs,
        "cycles_per_mac_assumed": list(ESP32S3_CYCLES_PER_MAC),
        "cpu_share_nets": [lo, hi],
        "basis": "MACs/s of all models x assumed %d-%d cycles per int8 MAC (viper, scalar "
        "Xtensa LX7) / 240 MHz; not measured, frontend not included" % ESP32S3_CYCLES_PER_MAC,
    }


def measure(models_dir, seconds=15.0, port=None, baud=115200, soft_reset=False):
    from hushword.modelfile import load

    from host_tools import modelfile as mf

    audio = _audio(seconds)
    hops = int(seconds * 50)
    with tempfile.TemporaryDirectory() as tmp:
        models, errors = reference.load_models(models_dir)
        damaged = [e for e in errors if "no usable wake word" not in e]
        if not models and any(Path(models_dir).glob("*.bin")):
            # Model files that fail to load are a fault to report, not "no models yet".
            raise HushwordError("no usable models in %s: %s" % (models_dir, "; ".join(damaged)))
        for e in damaged:
            print("hushword: warning: " + e, file=sys.stderr)
        random_init = not models
        if random_init:
            _random_models(tmp, audio)
            models_dir = tmp
            models, errors = reference.load_models(tmp)
        per_model = []
        for name, kind, labels, man, q in models:
            b = _bin_of(models_dir, name)
            net, _ = load(str(b), str(b.with_suffix(".json")), use_viper=False)
            macs = mf.macs_per_frame(q)
            per_model.append(
                {
                    "name": name,
                    "kind": kind,
                    "labels": labels,
                    "channels": max(ly["cout"] for ly in q["layers"][:-1] or q["layers"]),
                    "macs_per_frame": macs,
                    "macs_per_s": macs * 50,
                    "flash_bytes": b.stat().st_size,
                    "ram_weights_bytes": net.weight_bytes(),
                    "ram_arena_bytes": net.arena_bytes(),
                    "random_init": bool(man.get("random_init", False)),
                    "trained": not man.get("random_init", False),
                }
            )
        local = _local(models_dir, hops)
        device = _on_port(port, baud, models_dir, hops, soft_reset) if port else None
    res = {
        "audio_s": seconds,
        "random_init": random_init,
        "models": per_model,
        "load_errors": errors,
        "targets": TARGETS,
        "machine": _machine(),
        "micropython": local,
        # The board runs one wake word next to the command model: estimate what it loads.
        "esp32s3": _esp32s3_estimate(
            [m for m in per_model if m.get("kind") != "wake" or m["name"] in _wake_words()]
            if any(m["name"] in _wake_words() for m in per_model)
            else per_model
        ),
        "pymicro_wakeword": _pymicro(audio),
    }
    if port:
        res["device"] = device
    return res


def _bin_of(models_dir, name):
    for b in sorted(Path(models_dir).glob("*.bin")):
        j = b.with_suffix(".json")
        if j.exists() and json.loads(j.read_text()).get("name", b.stem) == name:
            return b
    raise HushwordError("%s: no model file named %r" % (models_dir, name))


def _print_device(title, mp):
    if "error" in mp:
        print("  %s: %s" % (title, mp["error"]))
        return
    print("  %s — %s" % (title, mp["where"]))
    print(
        "    speed: RTF %.2f%% (%.0f us/hop, worst hop %d us; frontend alone %.2f%%, %.0f us/hop)"
        % (
            100 * mp["rtf"],
            mp["us_per_hop"],
            mp["worst_us_per_hop"],
            100 * mp["frontend_rtf"],
            mp["frontend_us_per_hop"],
        )
    )
    extra = []
    if mp["load_peak_bytes"] is not None:
        extra.append("load peak <= %d B (GC off while loading)" % mp["load_peak_bytes"])
    if mp["code_bytes"] is not None:
        extra.append("code + frontend tables %d B (not in total)" % mp["code_bytes"])
    extra.append(
        "heap free %d B%s"
        % (mp["free_bytes"], " with the board's app still resident" if mp["app_resident"] else "")
    )
    print(
        "    RAM (%d-bit build): total %d B = weights+params+tables %d B + working %d B "
        "(nets' arenas %d B)"
        % (
            mp["pointer_bits"],
            mp["total_bytes"],
            mp["weights_bytes"],
            mp["working_bytes"],
            mp["nets_arena_bytes"],
        )
    )
    print("    " + "; ".join(extra))
    print(
        "    allocation while listening: %d B over %d hops without a detection; %d B for %d "
        "event(s)"
        % (mp["alloc_quiet_hops"], mp["hops"] - mp["events"], mp["alloc_for_events"], mp["events"])
    )
    if mp["errors"]:
        print("    model errors: " + "; ".join(mp["errors"]))
        if mp["app_resident"] and any("memory" in e for e in mp["errors"]):
            print(
                "    (each model's weights are one block; with the app resident the heap is "
                "fragmented: try --soft-reset)"
            )


def run(args):
    res = measure(args.models, args.seconds, args.port, args.baud, args.soft_reset)
    if args.json:
        print(json.dumps(res))
        return 0
    kind = (
        "RANDOMLY INITIALISED default-architecture models (no trained models in %s)" % args.models
        if res["random_init"]
        else "models in %s" % args.models
    )
    print("Hushword bench: %s; %.0f s of synthetic speech-like audio" % (kind, res["audio_s"]))
    print("  host: %s" % res["machine"])
    width = max([len(m["name"]) for m in res["models"]] + [10])
    for m in res["models"]:
        print(
            "  %-*s %-7s %-11s %8d MACs/s  %6d B flash  RAM %6d B weights + %5d B arena"
            % (
                width,
                m["name"],
                m["kind"],
                "random-init" if m["random_init"] else "trained",
                m["macs_per_s"],
                m["flash_bytes"],
                m["ram_weights_bytes"],
                m["ram_arena_bytes"],
            )
        )
    _print_device("MicroPython here", res["micropython"])
    if "device" in res:
        _print_device("on the board", res["device"])
    est = res["esp32s3"]
    print(
        "  ESP32-S3 at 240 MHz, ESTIMATE (not measured): the models' %.2f M MACs/s at an assumed "
        "%d-%d cycles/MAC take %.1f-%.1f%% of one core, frontend not included"
        % (
            est["macs_per_s"] / 1e6,
            est["cycles_per_mac_assumed"][0],
            est["cycles_per_mac_assumed"][1],
            100 * est["cpu_share_nets"][0],
            100 * est["cpu_share_nets"][1],
        )
    )
    pm = res["pymicro_wakeword"]
    if "error" in pm:
        print("  pymicro-wakeword: " + pm["error"])
    else:
        print(
            "  pymicro-wakeword %s on %s, same host: RTF %.2f%%"
            % (pm["model"], pm["runtime"], 100 * pm["rtf"])
        )
    print(
        "  targets: wake <= 30 KB flash, <= 1.0 M MACs/s; working <= 24 KB, total <= 64 KB;"
        " RTF <= 2%"
    )
    return 0
