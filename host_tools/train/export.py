"""Glue from a trained KeywordNet to the device model file (host_tools.modelfile)."""

import json
import os

import numpy as np

from host_tools.train import loop


def export_model(model, recipe, task, out_dir, xtr, best, state, seed, data_s, log, val):
    from host_tools import modelfile

    rng = np.random.default_rng([seed, 11])
    # Calibration: features of a few hundred training examples, positives and negatives alike.
    pick = rng.choice(len(xtr), size=min(256, len(xtr)), replace=False)
    calib = xtr[np.sort(pick)].reshape(-1, xtr.shape[-1])
    kind = "commands" if task == "commands" else "wake"
    out_base = os.path.join(out_dir, task)
    manifest = dict(
        cutoff=round(float(best["cutoff"]), 4),
        window=loop.WINDOW,
        trained_on="synthetic speech (espeak-ng, flite), seed %d" % seed,
        epochs=int(best["epoch"]),
        channels=int(model.channels),
    )
    res = modelfile.export(model.float_layers(), recipe.labels, kind, calib, out_base, **manifest)
    paths = {"bin": out_base + ".bin", "json": out_base + ".json"}
    if isinstance(res, dict):
        paths.update({k: v for k, v in res.items() if k in ("bin", "json")})
    summary = {
        "task": task,
        "best": best,
        "history": state["history"],
        "train_seconds": round(state["train_s"], 1),
        "data_seconds": round(data_s, 1),
    }
    with open(out_base + ".train.json", "w") as f:
        json.dump(summary, f, indent=1, default=float)
    log("wrote %s" % paths["bin"])
    return paths
