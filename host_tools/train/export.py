"""Glue from a trained KeywordNet to the device model file (host_tools.modelfile).

The cutoff that ships is chosen on the *quantised* model (the bytes the device runs, through
the bit-exact reference) on validation voices, never on the held-out test voices.
"""

import json
import os

import numpy as np

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


def _write(model, recipe, task, calib, out_base, cutoff, extra):
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
        sliding_window=loop.WINDOW,
        refractory_s=REFRACTORY_S,
        warmup_frames=WARMUP_FRAMES,
        **extra,
    )


def _training_voices():
    """Voices per engine in the training pool, e.g. "... espeak-ng (375), flite (4), ..."."""
    from collections import Counter

    from host_tools.train import tts

    counts = Counter(engine for engine, _, _ in tts.voice_pools()["train"])
    names = {"espeak": "espeak-ng"}
    parts = ["%s (%d)" % (names.get(e, e), n) for e, n in counts.items()]
    return "voices of the training pool: " + ", ".join(parts)


def export_model(model, recipe, task, out_dir, xtr, best, state, seed, data_s, log, val):
    rng = np.random.default_rng([seed, 11])
    # Calibration: features of a few hundred training examples, positives and negatives alike.
    pick = rng.choice(len(xtr), size=min(400, len(xtr)), replace=False)
    calib = xtr[np.sort(pick)].reshape(-1, xtr.shape[-1])
    out_base = os.path.join(out_dir, task)
    extra = {
        "trained_on": "synthetic speech: %s, seed %d" % (_training_voices(), seed),
        "channels": int(model.channels),
    }
    _write(model, recipe, task, calib, out_base, float(best["cutoff"]), extra)
    # Re-choose the cutoff on what the device will compute.
    xva, yva = val
    probs = quantized_probs(out_base + ".bin", xva)
    if task == "commands":
        err, cutoff, acc, unk = loop.command_metrics(probs, yva, recipe.labels)
        q = {"val_accuracy_int8": acc, "val_unknown_accept_int8": unk}
    else:
        frr, cutoff = loop.wake_metrics(probs, yva)
        q = {"val_frr_int8": frr}
    q["cutoff"] = cutoff
    log("int8 model on validation voices: %s" % json.dumps(q))
    extra.update({k: round(v, 4) for k, v in q.items() if k != "cutoff"})
    extra["training"] = {
        "seed": seed,
        "examples": int(len(xtr)),
        "data_seconds": round(data_s, 1),
        "train_seconds": round(state["train_s"], 1),
        "best_epoch": int(best["epoch"]),
    }
    manifest = _write(model, recipe, task, calib, out_base, round(cutoff, 4), extra)
    # The epoch history stays with the cache, not next to the model the device loads.
    hist = os.path.join(loop.CACHE, "runs", task + ".history.json")
    os.makedirs(os.path.dirname(hist), exist_ok=True)
    with open(hist, "w") as f:
        json.dump({"best": best, "int8": q, "history": state["history"]}, f, indent=1)
    log("wrote %s.bin (%d bytes)" % (out_base, manifest["flash_bytes"]))
    return {"bin": out_base + ".bin", "json": out_base + ".json", "manifest": manifest}
