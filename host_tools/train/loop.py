"""Training: data, epochs with checkpoints, model selection on validation voices, export."""

import hashlib
import json
import os
import time

import numpy as np

from host_tools.errors import HushwordError
from host_tools.train import dataset, tts

CACHE = os.path.join(".cache", "hushword")
# Detector smoothing: the detector fires on the mean of the last WINDOW frame probabilities.
# The command model uses WINDOW; a wake model's detector window is chosen on validation from
# WAKE_WINDOWS (60 or 160 ms), after training: a phrase that stays hot long enough may gain
# from a longer mean, which brief sound-alike peaks do not reach. A wake model is trained for
# the long one: its loss and epoch selection use WAKE_TRAIN_WINDOW (docs/models/experiments.md,
# "The detector window of a wake word").
WINDOW = 3
WAKE_WINDOWS = (3, 8)
WAKE_TRAIN_WINDOW = 8
# False accepts per hour the wake cutoff is chosen for on validation audio (target is 0.5).
TARGET_FA_PER_HOUR = 0.25
TARGET_UNKNOWN_ACCEPT = 0.01
# Sound-alike phrases of a wake word ("hey travis") have a limit of their own, as unknown
# phrases have for commands: a fifth of the validation examples say one, far more often than
# a room does, so counted as hours of audio, the one or two that score highest set the cutoff.
TARGET_SOUNDALIKE_ACCEPT = 0.01
# bump when the training recipe changes, so old checkpoints are not resumed (13: accent rules
# for the command positives; a wake word's data is the same as in 12. 14: a wake model's loss
# and epoch selection on WAKE_TRAIN_WINDOW frames; data as in 13). --accented-voices
# changes the voices, and with them the data and the checkpoint's key.
RECIPE = 14
COMMAND_CUTOFFS = np.concatenate([np.linspace(0.3, 0.98, 35), [0.985, 0.99, 0.993, 0.996]])


def sizes(task, quick):
    if quick:
        return {"train": 48, "val": 32, "epochs": 1}
    # More distinct examples, each seen fewer times, than recipe 6's 20000 x 40: data costs
    # 30-70 ms an example on one core, an epoch of 48000 about 20 s on two.
    return {"train": 48000, "val": 2000, "epochs": 30}


def smooth(p, w=WINDOW):
    """Causal moving average over frames (axis 1), as the detector does."""
    c = np.cumsum(np.pad(p, [(0, 0), (w, 0)] + [(0, 0)] * (p.ndim - 2)), axis=1)
    return (c[:, w:] - c[:, :-w]) / w


def wake_scores(probs, y, w=WINDOW):
    """Per example: max smoothed score (`w` frames); positives only where the phrase has been
    said."""
    s = smooth(probs[:, :, 1], w)
    pos = (y == 1).any(axis=1)
    after = (np.cumsum((y == 1) | (y == -1), axis=1) > 0) & pos[:, None]
    # Positives are scored from the start of the phrase on; what comes before it counts as
    # negative audio (firing a few frames early, inside the phrase, is not a false accept).
    pos_score = np.where(after, s, 0.0).max(axis=1)
    neg_score = np.where(after, 0.0, s).max(axis=1)
    return pos, pos_score, neg_score


def _rule_cutoff(neg_score, soundalike, frames, looser=0):
    """The shipping rule's cutoff: just above the (allowed+1)-th highest score of ordinary
    negative audio and of sound-alike phrases, whichever is higher (0.3 for an empty group).
    `looser` more of each group let through: the next cutoffs down."""
    audio = np.sort(neg_score[~soundalike])[::-1]
    hours = len(audio) * frames * 0.02 / 3600.0
    alike = np.sort(neg_score[soundalike])[::-1]
    cuts = []
    for scores, allowed in (
        (audio, int(np.floor(TARGET_FA_PER_HOUR * hours))),
        (alike, int(np.floor(TARGET_SOUNDALIKE_ACCEPT * len(alike)))),
    ):
        k = allowed + looser
        cuts.append(float(scores[k]) + 1e-4 if k < len(scores) else 0.3)
    return float(np.clip(max(cuts), 0.3, 0.999))


def wake_metrics(probs, y, soundalike=None, w=WINDOW):
    """(FRR at the validation cutoff, cutoff, share of sound-alikes accepted). The cutoff is
    the lowest that keeps the other negative audio within TARGET_FA_PER_HOUR and accepts at
    most TARGET_SOUNDALIKE_ACCEPT of the examples in `soundalike` (a mask; None: no such
    examples, every negative counts as audio). `w`: the detector's window."""
    pos, pos_score, neg_score = wake_scores(probs, y, w)
    if soundalike is None:
        soundalike = np.zeros(len(y), bool)
    cutoff = _rule_cutoff(neg_score, soundalike, y.shape[1])
    frr = float(np.mean(pos_score[pos] < cutoff)) if pos.any() else 1.0
    accepted = float(np.mean(neg_score[soundalike] >= cutoff)) if soundalike.any() else 0.0
    return frr, cutoff, accepted


def wake_selection_error(probs, y, soundalike=None, w=WINDOW):
    """Epoch selection: mean FRR at the shipping rule's cutoff and the three next ones down
    (each letting one more negative of each group through). One stray negative moves the
    shipped cutoff a lot; this average barely moves with it."""
    pos, pos_score, neg_score = wake_scores(probs, y, w)
    if not pos.any():
        return 1.0
    if soundalike is None:
        soundalike = np.zeros(len(y), bool)
    cuts = [_rule_cutoff(neg_score, soundalike, y.shape[1], k) for k in range(4)]
    return float(np.mean([np.mean(pos_score[pos] < c) for c in cuts]))


def wake_window(probs, y, soundalike=None):
    """The detector window for a wake model: of WAKE_WINDOWS, the one with the lowest
    selection error on these validation examples (the shorter one on a tie)."""
    errs = [wake_selection_error(probs, y, soundalike, w) for w in WAKE_WINDOWS]
    return WAKE_WINDOWS[int(np.argmin(errs))]


def command_metrics(probs, y, labels, cutoff=None):
    """(error, cutoff, accuracy, unknown accepted) with the detector's rule: a command fires
    when its smoothed probability exceeds the cutoff; the first one to fire counts."""
    n_cmd = len(labels) - 2
    s = smooth(probs)[:, :, :n_cmd]
    target = np.where((y >= 0) & (y < n_cmd), y, -1).max(axis=1)
    is_cmd = target >= 0
    # A command example counts what fires from the start of its phrase on (its first
    # "unknown" frame, else 3 frames before its hot zone), as `hushword eval` does; what
    # fires during talk before it is not part of this example's answer.
    first_lab = np.argmax((y >= 0) & (y < n_cmd), axis=1)
    inside = y == labels.index("unknown")
    start = np.where(inside.any(axis=1), np.argmax(inside, axis=1), first_lab - 3)
    mask = np.arange(y.shape[1])[None, :] >= np.minimum(start, first_lab - 3)[:, None]
    best = None
    for c in [cutoff] if cutoff is not None else COMMAND_CUTOFFS:
        fired = s.max(axis=2) > c
        fired_cmd = np.where(is_cmd[:, None], fired & mask, fired)
        any_fire = fired_cmd.any(axis=1)
        first = np.argmax(fired_cmd, axis=1)
        cls = s[np.arange(len(s)), first].argmax(axis=1)
        acc = float(np.mean(any_fire[is_cmd] & (cls[is_cmd] == target[is_cmd])))
        unk = float(np.mean(any_fire[~is_cmd])) if (~is_cmd).any() else 0.0
        err = command_error(acc, unk)
        if best is None or err < best[0]:
            best = (err, float(c), acc, unk)
    return best


def command_error(acc, unk):
    """What command model selection minimises: misses, and unknowns accepted above target."""
    return (1 - acc) + 4 * max(0.0, unk - TARGET_UNKNOWN_ACCEPT)


def shipped_error(task, manifest):
    """What choosing among finished runs minimises, on the int8 model a run wrote: its
    validation FRR for a wake word, command_error for commands."""
    if task == "commands":
        return command_error(manifest["val_accuracy_int8"], manifest["val_unknown_accept_int8"])
    return manifest["val_frr_int8"]


# Weight of the positives' peak term in detection_loss.
PEAK_WEIGHT = 1.0


def detection_loss(torch, logits, yb, task, n_out, window=None):
    """The two ends of the detector's decision, next to the per-frame cross-entropy:

    - negatives: the single worst frame pushed down, which is what a false accept is (for
      commands: the most probable command in an example that says none);
    - positives: the best mean over the detector's window (`window`; by default WINDOW
      frames for commands, WAKE_TRAIN_WINDOW for a wake word) of the said word's probability
      inside its hot zone pushed up (max-pooling loss, Sun et al. 2016): a detection needs
      one confident peak there, not every hot frame right, and a miss is a peak that stayed
      low.
    """
    n_hot = n_out - 2 if task == "commands" else 1
    hot = (yb >= 0) & (yb < n_hot) if task == "commands" else yb == 1
    is_pos = hot.any(dim=1)
    p = torch.softmax(logits, dim=-1)
    loss = logits.new_zeros(())
    neg = ~is_pos
    if neg.any():
        pn = p[neg]
        p_hot = pn[:, :, :n_hot].sum(-1) if task == "commands" else pn[:, :, 1]
        loss = loss + 0.5 * (-torch.log1p(-p_hot.max(dim=1).values + 1e-6)).mean()
    if is_pos.any() and PEAK_WEIGHT:
        pp, yp, hp = p[is_pos], yb[is_pos], hot[is_pos]
        target = torch.where(hp, yp, torch.zeros_like(yp)).amax(dim=1)  # the said label
        pt = pp.gather(2, target.view(-1, 1, 1).expand(-1, pp.shape[1], 1))[:, :, 0]
        # Causal mean over the window, as the detector smooths.
        w = window or (WINDOW if task == "commands" else WAKE_TRAIN_WINDOW)
        c = torch.nn.functional.pad(pt, (w - 1, 0)).unfold(1, w, 1).mean(-1)
        peak = torch.where(hp, c, torch.zeros_like(c)).amax(dim=1)
        loss = loss + PEAK_WEIGHT * (-torch.log(peak + 1e-6)).mean()
    return loss


def _torch():
    try:
        import torch
    except ModuleNotFoundError:
        raise HushwordError("training needs PyTorch: pip install -e .[train]") from None
    return torch


def _mel_shift(xb, shifts):
    """Shift each example's mel bands by shifts[i] (-1, 0, +1); the edge band is repeated."""
    torch = _torch()
    up = torch.cat([xb[..., :1], xb[..., :-1]], dim=-1)  # band k takes band k-1: formants up
    down = torch.cat([xb[..., 1:], xb[..., -1:]], dim=-1)
    s = torch.from_numpy(np.asarray(shifts)).view(-1, 1, 1)
    return torch.where(s > 0, up, torch.where(s < 0, down, xb))


def predict(model, x, batch=256):
    torch = _torch()
    out = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i : i + batch].astype(np.float32))
            out.append(torch.softmax(model(xb), dim=-1).numpy())
    return np.concatenate(out)


def train(
    task,
    out_dir,
    seed=0,
    quick=False,
    epochs=None,
    jobs=2,
    log=print,
    examples=None,
    init_seed=None,
    accented=False,
    wide=False,
    kokoro=False,
    train_window=None,
):
    """Train `task` on data made with `seed`; `init_seed` (default: `seed`) alone seeds the
    initial weights, the example order and the feature jitter, so another value trains another
    model on the same cached data. `accented`: festival's voices of other languages among the
    training and validation voices (tts.voice_pools); `kokoro`: Kokoro's voices among the
    training voices. `wide`: the model at modelfile.WIDE_COMMAND_CHANNELS (commands) or
    WIDE_WAKE_CHANNELS (wake words) with 4-bit weights (same device RAM, more MACs).
    `train_window`: the frames a wake word's loss and epoch selection average (one of
    WAKE_WINDOWS; default WAKE_TRAIN_WINDOW)."""
    torch = _torch()
    tts.require_engines()
    init = seed if init_seed is None else init_seed
    if task == "commands":  # the frames the loss and epoch selection average
        if train_window:
            raise HushwordError("--train-window is for wake words; commands use %d" % WINDOW)
        tw = WINDOW
    else:
        tw = train_window or WAKE_TRAIN_WINDOW
        if tw not in WAKE_WINDOWS:
            raise HushwordError("--train-window must be one of %s" % (WAKE_WINDOWS,))
    torch.manual_seed(init)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    sz = sizes(task, quick)
    epochs = epochs or sz["epochs"]
    if examples:
        sz["train"] = examples
    pools = tts.voice_pools(accented, kokoro)
    t0 = time.time()
    data_root = os.path.join(CACHE, "data")
    os.makedirs(data_root, exist_ok=True)
    xtr, ytr = dataset.build(task, "train", seed, sz["train"], pools["train"], data_root, jobs)
    xva, yva = dataset.build(task, "val", seed, sz["val"], pools["val"], data_root, jobs)
    t_data = time.time() - t0
    if task != "commands":  # which validation examples say a sound-alike of the wake word
        val_soundalike = dataset.example_kinds(task, "val", seed, len(xva)) == "confusable"
    log("data: %d train / %d val examples in %.0f s" % (len(xtr), len(xva), t_data))

    from host_tools import modelfile
    from host_tools.train.model import KeywordNet

    recipe = dataset.Recipe(task)
    if task == "commands" and wide:
        model = KeywordNet(modelfile.WIDE_COMMAND_CHANNELS, recipe.n_out, w4=modelfile.WIDE_W4)
    elif task == "commands":
        model = KeywordNet(modelfile.DEFAULT_COMMAND_CHANNELS, recipe.n_out)
    elif wide:
        model = KeywordNet(modelfile.WIDE_WAKE_CHANNELS, recipe.n_out, w4=modelfile.WIDE_W4)
    else:
        model = KeywordNet(modelfile.DEFAULT_WAKE_CHANNELS, recipe.n_out)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps_per_epoch = max(1, len(xtr) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=3e-3, total_steps=epochs * steps_per_epoch, pct_start=0.15
    )
    qat_from = 0 if quick else max(1, int(epochs * 0.4))
    # The checkpoint belongs to this data and recipe: a changed data set starts afresh.
    key = hashlib.sha1(
        repr(
            (task, init, quick, epochs, xtr.shape, int(xtr[::97].sum()), RECIPE)
            + (("wide", model.channels) if wide else ())
            + (("train_window", tw) if task != "commands" and tw != WAKE_TRAIN_WINDOW else ())
        ).encode()
    ).hexdigest()[:10]
    ckpt_path = os.path.join(CACHE, "ckpt", "%s-%s.pt" % (task, key))
    os.makedirs(os.path.dirname(ckpt_path), exist_ok=True)
    state = {"epoch": 0, "best": None, "best_state": None, "history": [], "train_s": 0.0}
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        state = ck["state"]
        log("resuming %s from epoch %d" % (task, state["epoch"]))

    weights = torch.ones(recipe.n_out)
    if task == "commands":
        weights[: recipe.n_out - 2] = 2.0  # command frames are few next to unknown/background
    else:
        weights[1] = 3.0  # hot frames are few; recall them, FA is held by the max-loss below
    rng = np.random.default_rng([init, 7])
    if state.get("rng"):  # resumed: the augmentation draws go on where the run stopped
        rng.bit_generator.state = state["rng"]
    for epoch in range(state["epoch"], epochs):
        te = time.time()
        model.set_quant(epoch >= qat_from)
        model.train()
        perm = np.random.default_rng([init, epoch]).permutation(len(xtr))
        total = 0.0
        prog = dataset.Progress(steps_per_epoch, "%s epoch %d/%d" % (task, epoch + 1, epochs))
        for step in range(steps_per_epoch):
            idx = perm[step * 64 : (step + 1) * 64]
            xb = torch.from_numpy(xtr[idx].astype(np.float32))
            yb = torch.from_numpy(ytr[idx].astype(np.int64))
            # Feature-level jitter: shift the whole log-mel a little (mic gain drift).
            xb = xb + torch.from_numpy(rng.integers(-3, 4, (len(idx), 1, 1)).astype(np.float32))
            # Speaker size: half the examples shift the log-mel by one band up or down (a
            # 9-13 % formant scale at 1-3 kHz, as between a shorter and a taller speaker), so
            # that the model does not key on where the training voices put their formants.
            xb = _mel_shift(xb, rng.integers(-1, 2, len(idx)) * (rng.random(len(idx)) < 0.5))
            # Frequency masking: a few mel bands set to the noise floor, so that no single
            # band (one engine's formant habit) carries the decision.
            band_mask = torch.from_numpy(rng.random((len(idx), 1, xb.shape[-1])) < 0.06)
            xb = torch.where(band_mask, torch.full_like(xb, -96.0), xb)
            logits = model(xb)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, recipe.n_out), yb.reshape(-1), weight=weights, ignore_index=-1
            )
            loss = loss + detection_loss(torch, logits, yb, task, recipe.n_out, tw)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            total += float(loss.detach())
            prog.update(step + 1)
        probs = predict(model, xva)
        if task == "commands":
            err, cutoff, acc, unk = command_metrics(probs, yva, recipe.labels)
            info = {"val_accuracy": acc, "val_unknown_accept": unk}
        else:
            frr, cutoff, alike = wake_metrics(probs, yva, val_soundalike, tw)
            err = wake_selection_error(probs, yva, val_soundalike, tw)
            info = {"val_frr": frr, "val_frr_sel": err, "val_soundalike_accept": alike}
        state["train_s"] += time.time() - te
        rec = dict(epoch=epoch + 1, loss=total / steps_per_epoch, cutoff=cutoff, qat=model.quant)
        rec.update(info)
        state["history"].append(rec)
        log(json.dumps(rec))
        # Select only among quantisation-aware epochs: those are the weights that ship.
        if model.quant and (state["best"] is None or err <= state["best"]["err"]):
            state["best"] = dict(rec, err=err)
            state["best_state"] = {k: v.clone() for k, v in model.state_dict().items()}
        state["epoch"] = epoch + 1
        state["rng"] = rng.bit_generator.state
        tmp = ckpt_path + ".tmp"
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "sched": sched.state_dict(),
                "state": state,
            },
            tmp,
        )
        os.replace(tmp, ckpt_path)

    model.load_state_dict(state["best_state"])
    model.set_quant(True)
    model.eval()
    best = state["best"]
    log("best epoch %d: %s" % (best["epoch"], json.dumps(best)))
    from host_tools.train import export

    return export.export_model(
        model,
        recipe,
        task,
        out_dir,
        xtr,
        best,
        state,
        seed=seed,
        init_seed=init,
        data_s=t_data,
        log=log,
        val=(xva, yva),
        train_voices=pools["train"],
        train_window=None if task == "commands" else tw,
    )
