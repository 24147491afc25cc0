"""`hushword eval`: how well the shipped models work on voices they never heard.

Held-out audio (tts test voices: unseen espeak-ng accents and speakers, flite's rms and
festival, in noise and synthetic rooms; see host_tools/train/heldout.py) is run through the
device pipeline as the host reference computes it (bit-exact features and int8 model), and
through pymicro-wakeword's `alexa` and `hey_jarvis` on the same audio for comparison.

Reported per wake word: false-rejection rate (FRR) at the shipped cutoff, false accepts per
hour on long negative audio, and a DET curve (FRR against false accepts/hour over cutoffs).
For the command model: accuracy on commands and the share of unknown phrases accepted.
With --recordings DIR the same figures come from the user's own clips (host_tools/recordings).
"""

import collections
import json
import os
import sys
import time

import numpy as np

from host_tools import cutoff, paths
from host_tools.errors import HushwordError

DET_CUTOFFS = np.round(
    np.concatenate([np.linspace(0.05, 0.9, 18), np.linspace(0.91, 0.995, 18)]), 4
)
HIT_AFTER_S = 1.0  # a wake event counts for a phrase from its start to 1 s after its end
MWW_WORDS = ("alexa", "hey_jarvis")


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--models",
        default=str(paths.MODELS),
        metavar="DIR",
        help="model directory (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        help="where model cards and DET curves go (default: docs/models for the shipped "
        "models, MODELS/cards for any other --models directory, so that evaluating your own "
        "run leaves the shipped cards alone)",
    )
    parser.add_argument(
        "--seed", type=int, default=1234, help="held-out audio seed (default: %(default)s)"
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=120.0,
        help="minutes of negative audio (default: 120; the wake-word target, 0.5 false "
        "accepts per hour, is one false accept in two hours)",
    )
    parser.add_argument(
        "--positives",
        type=int,
        default=300,
        help="held-out phrases per wake word (default: %(default)s)",
    )
    parser.add_argument(
        "--per-command",
        type=int,
        default=40,
        help="held-out phrases per command (default: %(default)s), and 6 times as many "
        "unknown phrases",
    )
    parser.add_argument(
        "--no-microwakeword", action="store_true", help="skip the pymicro-wakeword comparison"
    )
    cutoff.add_override_argument(parser)
    parser.add_argument(
        "--recordings",
        metavar="DIR",
        help="score the models on your own WAV clips instead of the synthetic held-out set: "
        "one folder per thing said, named after its label (hey_jarvis/, lights_on/, ...), "
        "plus unknown/ (talk that is no command) and negative/ (anything without a wake "
        "word); no TTS needed, no cards written",
    )


# ---- detection on the host reference ----


def device_scores(model_path, samples):
    """Bit-exact device probabilities (uint8 [frames, n_out]) for one stream of audio."""
    from host_tools import modelfile, reference

    feats = reference.features(samples)
    probs, _ = reference.quantized_forward_numpy(modelfile.read(model_path), feats)
    return probs


def smooth(p, w):
    """Integer mean of the last w frames of 0..255 probabilities, history starting at zero:
    exactly what firmware/hushword/detector.py compares with its cutoff."""
    p = np.asarray(p, np.int64)
    c = np.cumsum(np.concatenate([np.zeros((w,) + p.shape[1:], np.int64), p]), axis=0)
    return (c[w:] - c[:-w]) // w


def cutoff_q(c):
    """The detector's integer threshold for a float cutoff (detector.cutoff_q)."""
    return (int(c * 1000 + 0.5) * 255 + 999) // 1000


def events(score, cutoff, frame_s, refractory_frames, warmup=0):
    """Times (s) at which a detector fires on `score` (>= cutoff), quiet for
    `refractory_frames` frames after each detection and during the first `warmup` frames."""
    above = np.nonzero(score >= cutoff)[0]
    out, quiet_until = [], warmup - 1
    for i in above:
        if i > quiet_until:
            out.append((i + 1) * frame_s)
            quiet_until = i + refractory_frames
    return np.array(out)


def hits(ev_times, meta):
    """Per phrase: detected between its start and HIT_AFTER_S after its end."""
    ev = np.sort(np.asarray(ev_times, float))
    out = []
    for _, start, end, _ in meta:
        i = np.searchsorted(ev, start)
        out.append(bool(i < len(ev) and ev[i] <= end + HIT_AFTER_S))
    return np.array(out)


def heard_as(ev_t, ev_lab, meta):
    """Per phrase: the label of the first event between its start and HIT_AFTER_S after its
    end, or None."""
    out = []
    for _, start, end, _ in meta:
        i = np.searchsorted(ev_t, start)
        out.append(ev_lab[i] if i < len(ev_t) and ev_t[i] <= end + HIT_AFTER_S else None)
    return out


def det(score_pos, meta, score_neg, frame_s, refr, neg_hours, warmup=0, scale=255):
    """FRR and false accepts/hour over DET_CUTOFFS (scale 255: integer device scores)."""
    rows = []
    for c in DET_CUTOFFS:
        cq = cutoff_q(c) if scale == 255 else c
        frr = 1.0 - float(hits(events(score_pos, cq, frame_s, refr, warmup), meta).mean())
        fa = len(events(score_neg, cq, frame_s, refr, warmup)) / neg_hours
        rows.append({"cutoff": float(c), "frr": round(frr, 4), "fa_per_hour": round(fa, 3)})
    return rows


def reference_events(samples, models_dir, model, anytime=True):
    """Event times and labels of one model from host_tools.reference.run (the device's
    pipeline, bit-exact), with the command window held open."""
    from host_tools import reference

    evs = reference.run(samples, models_dir, commands_anytime=anytime)
    evs = [e for e in evs if e.get("model") == model]
    return np.array([e["t"] for e in evs]), [e["label"] for e in evs]


# ---- pymicro-wakeword on the same audio ----


def mww_scores(word, samples):
    """pymicro-wakeword's smoothed probability per 10 ms feature step (held between its
    inferences, which run every `stride` steps)."""
    from pymicro_wakeword import Model, MicroWakeWord, MicroWakeWordFeatures

    m = MicroWakeWord.from_builtin(Model(word))
    f = MicroWakeWordFeatures()
    out = []
    last = 0.0
    audio = np.asarray(samples, "<i2").tobytes()
    for i in range(0, len(audio), 32000):
        for feat in f.process_streaming(audio[i : i + 32000]):
            p = m.process_streaming_prob(feat)
            if not m._features:  # an inference ran on this step
                last = float(p)
            out.append(last)
    return np.array(out), m.probability_cutoff


# ---- the evaluation ----


def _manifests(models_dir):
    out = []
    for name in sorted(os.listdir(models_dir)):
        if name.endswith(".json") and os.path.exists(os.path.join(models_dir, name[:-5] + ".bin")):
            with open(os.path.join(models_dir, name)) as f:
                m = json.load(f)
            if m.get("kind") in ("wake", "command"):
                out.append((name[:-5], m))
    return out


def manifest_cutoff(man, label):
    """A label's cutoff from its manifest (one for all labels, or one per label)."""
    c = man["probability_cutoff"]
    return float(c[label] if isinstance(c, dict) else c)


def _soundalike_accepts(event_times, segments):
    from host_tools.train import heldout

    return int(sum(heldout.segment_of(t, segments) == "soundalike" for t in event_times))


def _false_accepts(event_times, segments, score, frame_s, span, scale=255):
    """What each false accept fell on: its time, kind, text, voice and the peak score in the
    `span` frames from the one that fired."""
    from host_tools.train import heldout

    out = []
    for t in event_times:
        _, _, what, text, voice = heldout.segment_at(t, segments)
        i = max(0, int(round(t / frame_s)) - 1)
        peak = float(np.max(score[i : i + max(1, span)])) / scale
        out.append(
            {
                "t": round(float(t), 2),
                "what": what,
                "text": text,
                "voice": voice,
                "score": round(peak, 3),
            }
        )
    return out


def evaluate_wake(name, man, bin_path, neg, segments, neg_hours, args, log):
    from host_tools.train import heldout

    frame_s = man["features"]["hop"] / man["features"]["sample_rate"]
    label = [lb for lb in man["labels"] if lb != "negative"][-1]
    li = man["labels"].index(label)
    pos, meta = heldout.wake_stream(label, args.positives, args.seed)
    w, warm = man["sliding_window"], man["warmup_frames"]
    refr = int(float(man["refractory_s"]) / frame_s)
    t0 = time.time()
    sp = smooth(device_scores(bin_path, pos)[:, li], w)
    sn = smooth(device_scores(bin_path, neg)[:, li], w)
    cut = manifest_cutoff(man, label)
    # The operating point comes from the device pipeline itself (reference.run)...
    ev_p, _ = reference_events(pos, args.models, name)
    ev_n, _ = reference_events(neg, args.models, name)
    # ...and the DET sweep from the same integer scores and detector rule; they must agree.
    agree = np.array_equal(
        np.round(events(sp, cutoff_q(cut), frame_s, refr, warm), 3), np.round(ev_p, 3)
    )
    h = hits(ev_p, meta)
    n_alike = sum(1 for seg in segments if seg[2] == "soundalike")
    n_fa_alike = _soundalike_accepts(ev_n, segments)
    res = {
        "model": name,
        "kind": "wake",
        "label": label,
        "cutoff": cut,
        "positives": len(meta),
        "negative_hours": round(neg_hours, 3),
        "frr": round(1.0 - float(h.mean()), 4),
        "fa_per_hour": round(len(ev_n) / neg_hours, 3),
        "false_accepts": int(len(ev_n)),
        # How many of them a sound-alike phrase set off, of how many said.
        "false_accepts_soundalike": n_fa_alike,
        "soundalike_phrases": n_alike,
        "det": det(sp, meta, sn, frame_s, refr, neg_hours, warm),
        "det_matches_reference": bool(agree),
        "seconds": round(time.time() - t0, 1),
    }
    res["false_accept_list"] = _false_accepts(ev_n, segments, sn, frame_s, refr)
    # Per engine FRR: shows whether one kind of voice is the weak spot.
    eng = np.array([m[3].split(":")[0] for m in meta])
    res["frr_by_engine"] = {e: round(1 - float(h[eng == e].mean()), 4) for e in sorted(set(eng))}
    log(
        "%s: FRR %.1f %% at %.2f FA/h (cutoff %.3f; %d of them on the %d sound-alike phrases)"
        % (name, 100 * res["frr"], res["fa_per_hour"], cut, n_fa_alike, n_alike)
    )
    if label in MWW_WORDS and not args.no_microwakeword:
        try:
            mp, mcut = mww_scores(label, pos)
            mn, _ = mww_scores(label, neg)
        except ImportError:
            log("pymicro-wakeword is not installed: no comparison (pip install -e .[bench])")
        else:
            fs = 0.01
            mrefr = int(float(man["refractory_s"]) / fs)
            mev_p, mev_n = events(mp, mcut, fs, mrefr), events(mn, mcut, fs, mrefr)
            mh = hits(mev_p, meta)
            res["microwakeword"] = {
                "cutoff": mcut,
                "frr": round(1.0 - float(mh.mean()), 4),
                "fa_per_hour": round(len(mev_n) / neg_hours, 3),
                "false_accepts": int(len(mev_n)),
                "false_accepts_soundalike": _soundalike_accepts(mev_n, segments),
                "false_accept_list": _false_accepts(mev_n, segments, mn, fs, mrefr, scale=1),
                "det": det(mp, meta, mn, fs, mrefr, neg_hours, scale=1),
                "frr_by_engine": {
                    e: round(1 - float(mh[eng == e].mean()), 4) for e in sorted(set(eng))
                },
            }
            log(
                "  microWakeWord %s: FRR %.1f %% at %.2f FA/h"
                % (label, 100 * res["microwakeword"]["frr"], res["microwakeword"]["fa_per_hour"])
            )
    return res


def evaluate_commands(name, man, bin_path, neg, neg_hours, args, log):
    from host_tools.train import heldout

    stream, meta, texts = heldout.command_stream(args.per_command, args.seed)
    t0 = time.time()
    # The command window held open for the whole stream (detect --commands-anytime).
    ev_t, ev_lab = reference_events(stream, args.models, name)
    confusion, accepted = {}, []
    by_engine = {}  # engine -> [commands, correct, unknown phrases, accepted]
    for (lab, st, en, voice), (text, _), got in zip(meta, texts, heard_as(ev_t, ev_lab, meta)):
        e = by_engine.setdefault(voice.split(":")[0], [0, 0, 0, 0])
        if lab == "unknown":
            e[2] += 1
            e[3] += got is not None
            if got is not None:
                accepted.append({"text": text, "as": got, "voice": voice})
        else:
            e[0] += 1
            e[1] += got == lab
        confusion.setdefault(lab, {}).setdefault(str(got), 0)
        confusion[lab][str(got)] += 1
    totals = np.sum(list(by_engine.values()) or [[0, 0, 0, 0]], axis=0)
    n_cmd, correct, n_unk, unknown_acc = (int(v) for v in totals)
    # Commands fired by ordinary talk and noise with the window held open (a worst case: the
    # device opens it for 3 s after a wake word only).
    neg_t, _ = reference_events(neg, args.models, name)
    res = {
        "model": name,
        "kind": "command",
        "commands": n_cmd,
        "unknown_phrases": n_unk,
        "accuracy": round(correct / max(1, n_cmd), 4),
        "unknown_accepted": round(unknown_acc / max(1, n_unk), 4),
        "fa_per_hour_window_open": round(len(neg_t) / neg_hours, 2),
        "confusion": confusion,
        # Per engine: shows whether one kind of voice is the weak spot.
        "by_engine": {
            k: {
                "commands": c,
                "accuracy": round(ok / max(1, c), 4),
                "unknown_phrases": u,
                "unknown_accepted": round(a / max(1, u), 4),
            }
            for k, (c, ok, u, a) in sorted(by_engine.items())
        },
        # Which unknown phrases passed for a command, said by which voice.
        "unknown_accepted_list": sorted(accepted, key=lambda d: (d["text"], d["as"], d["voice"])),
        "seconds": round(time.time() - t0, 1),
    }
    log(
        "%s: accuracy %.1f %%, unknown accepted %.1f %%"
        % (name, 100 * res["accuracy"], 100 * res["unknown_accepted"])
    )
    return res


def fired_summary(r, first=3):
    """One line on what set a model off in the held-out audio (the card lists it all): its
    false accepts, or the unknown phrases taken for commands, most frequent first."""
    fired = [
        '"%s" (%s, %.2f)' % (fa["text"] or fa["what"], fa["voice"] or "-", fa["score"])
        for fa in r.get("false_accept_list", [])
    ]
    taken = collections.Counter((a["text"], a["as"]) for a in r.get("unknown_accepted_list", []))
    fired += ['"%s" as %s x%d' % (t, c, n) for (t, c), n in taken.most_common()]
    if not fired:
        return ""
    more = " and %d more" % (len(fired) - first) if len(fired) > first else ""
    return "fired on %s%s" % (", ".join(fired[:first]), more)


def cards_dir(models, out=None):
    """Where `hushword eval` writes cards: `out` if given, docs/models for the shipped
    models, else a cards/ directory next to the models evaluated."""
    if out is not None:
        return out
    if os.path.realpath(models) == os.path.realpath(paths.MODELS):
        return str(paths.ROOT / "docs" / "models")
    return os.path.join(models, "cards")


def run_recordings(args):
    from host_tools import recordings

    cutoffs = cutoff.parse_overrides(args.cutoff, args.models)
    summary = recordings.evaluate(args.models, args.recordings, cutoffs=cutoffs)
    if args.json:
        print(json.dumps(summary))
    else:
        print("\n".join(recordings.report(summary)))
    return 1 if summary["skipped"] else 0


def run(args):
    if args.recordings:
        return run_recordings(args)
    paths.cache_notice()
    if args.cutoff:
        raise HushwordError(
            "--cutoff is for --recordings; for the held-out set, copy the models to a "
            "directory and set probability_cutoff in its json (README, Model quality)"
        )
    from host_tools.train import heldout, tts

    try:
        tts.require_engines()
    except HushwordError:
        if not os.path.isdir(heldout.CACHE):
            raise
    models = _manifests(args.models)
    if not models:
        raise HushwordError("no models in %s" % args.models)

    def log(m):
        print(m, file=sys.stderr)

    seconds = int(args.minutes * 60)
    log("held-out negative audio: %d s (built on first use, then cached)" % seconds)
    neg, segments = heldout.negative_stream(args.seed, seconds)
    neg_hours = len(neg) / 16000.0 / 3600.0
    results = []
    for name, man in models:
        bin_path = os.path.join(args.models, name + ".bin")
        if man["kind"] == "wake":
            res = evaluate_wake(name, man, bin_path, neg, segments, neg_hours, args, log)
            results.append(res)
        else:
            results.append(evaluate_commands(name, man, bin_path, neg, neg_hours, args, log))
    summary = {"seed": args.seed, "negative_hours": round(neg_hours, 3), "models": results}
    out = cards_dir(args.models, args.out)
    if out:
        from host_tools.train import cards

        os.makedirs(out, exist_ok=True)
        for r, (name, man) in zip(results, models):
            cards.write_card(out, r, man, summary)
        cards.write_index(out, summary)
        log("model cards: %s" % out)
    # Full results (DET points, confusion) for scripts; the cards carry the summary.
    os.makedirs(heldout.CACHE, exist_ok=True)
    with open(os.path.join(heldout.CACHE, "eval.json"), "w") as f:
        json.dump(summary, f, indent=1)
    if args.json:
        print(json.dumps(summary))
    else:
        for r in results:
            if r["kind"] == "wake":
                line = "%-12s FRR %5.1f %%  FA/h %6.2f (%d on sound-alikes)" % (
                    r["model"],
                    100 * r["frr"],
                    r["fa_per_hour"],
                    r["false_accepts_soundalike"],
                )
                if "microwakeword" in r:
                    m = r["microwakeword"]
                    line += "   microWakeWord: FRR %5.1f %%  FA/h %6.2f" % (
                        100 * m["frr"],
                        m["fa_per_hour"],
                    )
            else:
                line = "%-12s accuracy %5.1f %%  unknown accepted %4.1f %%" % (
                    r["model"],
                    100 * r["accuracy"],
                    100 * r["unknown_accepted"],
                )
            print(line)
            fired = fired_summary(r)
            if fired:
                print("%-12s %s" % ("", fired))
        print("negative audio: %.2f h" % neg_hours)
    return 0
