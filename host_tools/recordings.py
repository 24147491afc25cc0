"""`hushword eval --recordings DIR`: score the models on your own recordings.

DIR holds one folder per thing said, each with WAV clips (any rate, channels, PCM or float):

- a wake word's label (``hey_jarvis/``, ``alexa/``): clips that say it; FRR is the share of
  them in which the wake model never fires;
- a command's label (``lights_on/``, ``what_time_is_it/``, ...): clips that say it; correct
  when the first command the model fires is that one (the window held open, as
  ``detect --commands-anytime``);
- ``unknown/``: talk that is no command; accepted when any command fires;
- ``negative/``: anything else (a room, a TV, talk without the wake word), for false accepts.

Every clip counts as negative audio for each wake word it is not filed under. Each clip runs
through the device pipeline (bit-exact host reference) on its own, as a board that had been
listening in that room would hear it (reference.run_recording).
"""

import os
import sys

import numpy as np

from host_tools import reference, wavio
from host_tools.errors import HushwordError
from host_tools.evaluate import manifest_cutoff, smooth
from host_tools.progress import Progress

SPECIAL = ("unknown", "negative")


def collect(root, known):
    """{folder: [wav paths]} for the folders named in `known` (plus SPECIAL), and the names of
    the folders that were left out."""
    if not os.path.isdir(root):
        raise HushwordError("%s: no such directory" % root)
    found, ignored = {}, []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isdir(d):
            continue
        if name not in known and name not in SPECIAL:
            ignored.append(name)
            continue
        wavs = wavio.find(d)
        if wavs:
            found[name] = wavs
    if not found:
        raise HushwordError(
            "%s: no folders of WAV clips named after what they say (expected e.g. %s, "
            "unknown/, negative/)" % (root, ", ".join(n + "/" for n in sorted(known)[:3]))
        )
    return found, ignored


def peaks(models, feats, pre_samples):
    """{model: {label: highest smoothed score in the clip}}, 0..1 as the detector sees it
    (the pre-roll left out), to show how far a missed clip was from the cutoff."""
    skip = pre_samples // reference.fe.HOP
    out = {}
    for name, _, labels, man, q in models:
        s = smooth(reference.quantized_forward_numpy(q, feats)[0], man.get("sliding_window", 5))
        top = s[skip:].max(axis=0) if len(s) > skip else np.zeros(len(labels), np.int64)
        out[name] = {lb: round(int(v) / 255, 3) for lb, v in zip(labels, top)}
    return out


def evaluate(models_dir, root, log=None, progress=True, cutoffs=None):
    """Score every model in `models_dir` on the clips under `root` (see the module doc);
    `cutoffs` {model: cutoff} in place of their own."""
    log = log or (lambda m: print(m, file=sys.stderr))
    models, errors = reference.load_models(models_dir, cutoffs)
    for e in errors:
        log("hushword: warning: " + e)
    if not models:
        raise HushwordError("no usable models in %s" % models_dir)
    wake = {name: labels[-1] for name, kind, labels, _, _ in models if kind == "wake"}
    mans = {name: man for name, _, _, man, _ in models}
    commands = {name: labels for name, kind, labels, _, _ in models if kind != "wake"}
    known = set(wake.values()) | {lb for labels in commands.values() for lb in labels}
    known -= {"unknown", "background", "negative"}
    found, ignored = collect(root, known)
    for name in ignored:
        log(
            "hushword: ignored folder %s/ (not a label of these models, unknown/ or negative/)"
            % name
        )
    clips = [(folder, p) for folder in found for p in found[folder]]
    bar = Progress(len(clips), "recordings", force=False) if progress else None
    results, unreadable, converted = [], [], []
    for k, (folder, path) in enumerate(clips):
        try:
            x = wavio.read(path, notice=converted.append)
        except HushwordError as e:
            unreadable.append(str(e))
            continue
        evs, feats, n_pre = reference.run_recording(x, models_dir, True, models=models)
        rel = os.path.relpath(path, root)
        results.append((folder, rel, len(x) / wavio.RATE, evs, peaks(models, feats, n_pre)))
        if bar:
            bar.update(k + 1)
    if bar:
        bar.close()
    for m in unreadable:
        log("hushword: skipped " + m)
    if converted:
        log(
            "hushword: %d clips converted to 16 kHz mono 16-bit (%s)"
            % (len(converted), converted[0].split(": ", 1)[-1])
        )
    out = {
        "recordings": str(root),
        "clips": len(results),
        "skipped": unreadable,
        "ignored_folders": ignored,
        "models": [],
    }
    for name, label in wake.items():
        out["models"].append(_score_wake(name, label, results))
        out["models"][-1]["cutoff"] = manifest_cutoff(mans[name], label)
    for name, labels in commands.items():
        out["models"].append(_score_commands(name, labels, results))
    return out


def _score_wake(name, label, results):
    pos = [(rel, evs, pk) for folder, rel, _, evs, pk in results if folder == label]
    missed = [
        {"file": rel, "peak": pk[name][label]}
        for rel, evs, pk in pos
        if not any(e["model"] == name for e in evs)
    ]
    neg_s = sum(s for folder, _, s, _, _ in results if folder != label)
    fas = [
        {"file": rel, "t": e["t"], "score": e["score"]}
        for folder, rel, _, evs, _ in results
        if folder != label
        for e in evs
        if e["model"] == name
    ]
    return {
        "model": name,
        "kind": "wake",
        "label": label,
        "clips": len(pos),
        "missed": missed,
        "frr": round(len(missed) / len(pos), 4) if pos else None,
        "negative_s": round(neg_s, 1),
        "false_accepts": fas,
        "fa_per_hour": round(len(fas) / (neg_s / 3600), 2) if neg_s else None,
    }


def _score_commands(name, labels, results):
    wrong, said, accepted, unk, fas, neg_s = [], 0, [], 0, [], 0.0
    for folder, rel, seconds, evs, pk in results:
        got = [e["label"] for e in evs if e["model"] == name]
        if folder in labels and folder not in ("unknown", "background"):
            said += 1
            if not got or got[0] != folder:
                heard = got[0] if got else None
                wrong.append(
                    {"file": rel, "said": folder, "heard": heard, "peak": pk[name][folder]}
                )
        elif folder == "unknown":
            unk += 1
            if got:
                accepted.append({"file": rel, "as": got[0]})
        elif folder == "negative":
            neg_s += seconds
            fas += [{"file": rel, "as": g} for g in got]
    return {
        "model": name,
        "kind": "command",
        "commands": said,
        "accuracy": round(1 - len(wrong) / said, 4) if said else None,
        "wrong": wrong,
        "unknown_clips": unk,
        "unknown_accepted": round(len(accepted) / unk, 4) if unk else None,
        "accepted": accepted,
        "negative_s": round(neg_s, 1),
        "false_accepts_window_open": fas,
    }


def report(summary, show=5):
    """Lines for a person: per model what was heard, then the misses and false accepts."""
    lines = ["%d clips in %s" % (summary["clips"], summary["recordings"])]

    def listing(items):
        more = " and %d more" % (len(items) - show) if len(items) > show else ""
        return ", ".join(items[:show]) + more

    for r in summary["models"]:
        if r["kind"] == "wake":
            if r["clips"]:
                heard = r["clips"] - len(r["missed"])
                line = "%-12s heard %d of %d (FRR %.1f %% at cutoff %.2f)" % (
                    r["model"],
                    heard,
                    r["clips"],
                    100 * r["frr"],
                    r["cutoff"],
                )
            else:
                line = "%-12s no %s/ clips" % (r["model"], r["label"])
            line += "; %d false accepts in %.1f min of other clips" % (
                len(r["false_accepts"]),
                r["negative_s"] / 60,
            )
            lines.append(line)
            if r["missed"]:
                ms = ["%s (peak %.2f)" % (d["file"], d["peak"]) for d in r["missed"]]
                lines.append("%-12s missed: %s" % ("", listing(ms)))
            if r["false_accepts"]:
                fa = [
                    "%s at %.2f s (%.2f)" % (f["file"], f["t"], f["score"])
                    for f in r["false_accepts"]
                ]
                lines.append("%-12s fired on: %s" % ("", listing(fa)))
        else:
            parts = []
            if r["commands"]:
                ok = r["commands"] - len(r["wrong"])
                parts.append(
                    "correct %d of %d (%.1f %%)" % (ok, r["commands"], 100 * r["accuracy"])
                )
            if r["unknown_clips"]:
                parts.append(
                    "unknown accepted %d of %d" % (len(r["accepted"]), r["unknown_clips"])
                )
            if r["negative_s"]:
                parts.append(
                    "%d fired in %.1f min of negative/"
                    % (len(r["false_accepts_window_open"]), r["negative_s"] / 60)
                )
            lines.append("%-12s %s" % (r["model"], "; ".join(parts) or "no command clips"))
            if r["wrong"]:
                w = [
                    "%s as %s (%s peak %.2f)"
                    % (d["file"], d["heard"] or "nothing", d["said"], d["peak"])
                    for d in r["wrong"]
                ]
                lines.append("%-12s wrong: %s" % ("", listing(w)))
            if r["accepted"]:
                a = ["%s as %s" % (d["file"], d["as"]) for d in r["accepted"]]
                lines.append("%-12s accepted: %s" % ("", listing(a)))
    return lines
