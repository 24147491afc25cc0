"""Glue from a trained KeywordNet to the device model file (host_tools.modelfile).

The cutoff that ships is chosen on the *quantised* model (the bytes the device runs, through
the bit-exact reference) on validation voices, never on the held-out test voices.
"""

import json
import os

import numpy as np

from host_tools.errors import HushwordError
from host_tools.train import loop

REFRACTORY_S = 1.5
WARMUP_FRAMES = 10  # trained from zero history, so it may fire early


def quantized_probs(bin_path, x):
    """Device probabilities (0..1) for each example in x [N, T, 32] int8, from the .bin."""
    from host_tools import modelfile, reference

    model = modelfile.read(bin_path)
    probs = [reference.quantized_forward_numpy(model, ex)[0] for ex in x]
    # The runtime reports probabilities as uint8 0..255 (see firmware/hushword/nn.py).
    return np.stack(probs).astype(np.float64) / 255.0


def _write(model, recipe, task, calib, out_base, cutoff, extra, window=loop.WINDOW):
    from host_tools import modelfile

    kind = "command" if task == "commands" else "wake"
    return modelfile.export(
        model.float_layers(),
        recipe.labels,
        kind,
        calib,
        out_base,
        input_scale=model.input_scale,
        probability_cutoff=cutoff,
        sliding_window=window,
        refractory_s=REFRACTORY_S,
        warmup_frames=WARMUP_FRAMES,
        **extra,
    )


def _training_voices(voices):
    """Voices per engine in a training pool, e.g. "... espeak-ng (375), flite (4), ..."."""
    from collections import Counter

    from host_tools.train import dataset

    counts = Counter(dataset.voice_group(v) for v in voices)
    names = {"espeak": "espeak-ng", "accented": "festival, other languages"}
    parts = ["%s (%d)" % (names.get(e, e), n) for e, n in counts.items()]
    return "voices of the training pool: " + ", ".join(parts)


def choose_cutoff(bin_path, task, seed, xva, yva):
    """The cutoff for the model in `bin_path` on validation examples (seed `seed`), with
    what the int8 model scores there at that cutoff: {"cutoff": .., "window": detector
    window (frames; chosen here for a wake word), "val_..._int8": ..}."""
    from host_tools.train import dataset

    probs = quantized_probs(bin_path, xva)
    if task == "commands":
        err, cutoff, acc, unk = loop.command_metrics(probs, yva, dataset.Recipe(task).labels)
        q = {"val_accuracy_int8": acc, "val_unknown_accept_int8": unk, "window": loop.WINDOW}
    else:
        soundalike = dataset.example_kinds(task, "val", seed, len(xva)) == "confusable"
        w = loop.wake_window(probs, yva, soundalike)
        frr, cutoff, alike = loop.wake_metrics(probs, yva, soundalike, w)
        q = {"val_frr_int8": frr, "val_soundalike_accept_int8": alike, "window": w}
    q["cutoff"] = cutoff
    return q


def calibrate(task, out_dir, seed=0, quick=False, jobs=2, log=print, accented=False, kokoro=False):
    """Choose the cutoff of the model already in `out_dir` again, on the validation voices
    (as training does after its last epoch; `accented` as there), and rewrite its manifest;
    the weights stay."""
    from host_tools import modelfile
    from host_tools.train import dataset, tts

    base = os.path.join(out_dir, task)
    manifest_path = base + ".json"
    if not (os.path.exists(base + ".bin") and os.path.exists(manifest_path)):
        raise HushwordError("no %s.bin/.json in %s to calibrate" % (task, out_dir))
    tts.require_engines()
    with open(manifest_path) as f:
        manifest = json.load(f)
    data_root = os.path.join(loop.CACHE, "data")
    os.makedirs(data_root, exist_ok=True)
    n = loop.sizes(task, quick)["val"]
    xva, yva = dataset.build(
        task, "val", seed, n, tts.voice_pools(accented, kokoro)["val"], data_root, jobs
    )
    q = choose_cutoff(base + ".bin", task, seed, xva, yva)
    old = dict(manifest["probability_cutoff"])
    labels = [lb for lb in manifest["labels"] if lb not in modelfile.NEVER_FIRE]
    manifest["probability_cutoff"] = {lb: round(q["cutoff"], 4) for lb in labels}
    old_w, manifest["sliding_window"] = manifest.get("sliding_window"), q["window"]
    for k, v in q.items():
        if k not in ("cutoff", "window"):
            manifest[k] = round(v, 4)
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp, manifest_path)
    scores = {k: round(v, 4) for k, v in q.items() if k not in ("cutoff", "window")}
    was = ", ".join(sorted({"%.4f" % v for v in old.values()}))
    log(
        "%s: cutoff %s -> %.4f, window %s -> %d frames; on validation voices: %s"
        % (task, was, q["cutoff"], old_w, q["window"], scores)
    )
    return manifest


def export_model(
    model,
    recipe,
    task,
    out_dir,
    xtr,
    best,
    state,
    seed,
    data_s,
    log,
    val,
    init_seed=None,
    train_voices=(),
    train_window=None,
):
    init = seed if init_seed is None else init_seed
    rng = np.random.default_rng([init, 11])
    # Calibration: features of a few hundred training examples, positives and negatives alike.
    pick = rng.choice(len(xtr), size=min(400, len(xtr)), replace=False)
    calib = xtr[np.sort(pick)].reshape(-1, xtr.shape[-1])
    out_base = os.path.join(out_dir, task)
    extra = {
        "trained_on": "synthetic speech: %s, seed %d" % (_training_voices(train_voices), seed),
        "channels": int(model.channels),
    }
    _write(model, recipe, task, calib, out_base, float(best["cutoff"]), extra)
    # Re-choose the cutoff on what the device will compute.
    q = choose_cutoff(out_base + ".bin", task, seed, *val)
    log("int8 model on validation voices: %s" % json.dumps(q))
    extra.update({k: round(v, 4) for k, v in q.items() if k not in ("cutoff", "window")})
    extra["training"] = {
        "seed": seed,
        "init_seed": init,
        "examples": int(len(xtr)),
        "data_seconds": round(data_s, 1),
        "train_seconds": round(state["train_s"], 1),
        "best_epoch": int(best["epoch"]),
    }
    if train_window:  # the frames the loss and epoch selection averaged (a wake word)
        extra["training"]["train_window"] = train_window
    manifest = _write(
        model, recipe, task, calib, out_base, round(q["cutoff"], 4), extra, q["window"]
    )
    # The epoch history stays with the cache, not next to the model the device loads.
    hist = os.path.join(loop.CACHE, "runs", task + ".history.json")
    os.makedirs(os.path.dirname(hist), exist_ok=True)
    with open(hist, "w") as f:
        json.dump({"best": best, "int8": q, "history": state["history"]}, f, indent=1)
    log("wrote %s.bin (%d bytes)" % (out_base, manifest["flash_bytes"]))
    return {"bin": out_base + ".bin", "json": out_base + ".json", "manifest": manifest}
