"""Model cards (markdown) and DET curves (PNG, written with numpy and zlib only)."""

import os
import struct
import zlib

import numpy as np

from host_tools.train import loop

W, H = 480, 360
MARGIN = 40
# DET axes: false accepts/hour on a log scale, FRR 0..100 %.
FA_LO, FA_HI = 0.1, 100.0
FRR_HI = 1.0
COLORS = {"hushword": (200, 40, 40), "microwakeword": (40, 90, 200)}


def write_png(path, rgb):
    """rgb: uint8 [h, w, 3] -> PNG file (8-bit truecolour, no filtering)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def _xy(fa, frr):
    fa = np.clip(fa, FA_LO, FA_HI)
    x = MARGIN + (np.log10(fa) - np.log10(FA_LO)) / (np.log10(FA_HI) - np.log10(FA_LO)) * (
        W - 2 * MARGIN
    )
    y = H - MARGIN - np.clip(frr, 0, FRR_HI) / FRR_HI * (H - 2 * MARGIN)
    return x, y


def _line(img, x0, y0, x1, y1, color, width=1):
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.linspace(x0, x1, n).round().astype(int)
    ys = np.linspace(y0, y1, n).round().astype(int)
    for dx in range(-(width // 2), width // 2 + 1):
        for dy in range(-(width // 2), width // 2 + 1):
            xx, yy = np.clip(xs + dx, 0, W - 1), np.clip(ys + dy, 0, H - 1)
            img[yy, xx] = color


def det_png(path, curves, points):
    """curves: {name: [(fa_per_hour, frr)]}; points: {name: (fa, frr)} operating points.

    Grid: vertical lines at 0.1, 1, 10, 100 FA/h (log), horizontal lines every 10 % FRR.
    """
    img = np.full((H, W, 3), 255, np.uint8)
    for fa in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100):
        x, _ = _xy(np.array([fa]), np.array([0.0]))
        shade = (170, 170, 170) if fa in (0.1, 1, 10, 100) else (225, 225, 225)
        _line(img, x[0], MARGIN, x[0], H - MARGIN, shade)
    for frr in np.arange(0, FRR_HI + 1e-9, 0.05):  # light every 5 %, dark every 10 %
        _, y = _xy(np.array([1.0]), np.array([frr]))
        shade = (170, 170, 170) if round(frr * 100) % 10 == 0 else (225, 225, 225)
        _line(img, MARGIN, y[0], W - MARGIN, y[0], shade)
    _line(img, MARGIN, H - MARGIN, W - MARGIN, H - MARGIN, (0, 0, 0), 2)
    _line(img, MARGIN, MARGIN, MARGIN, H - MARGIN, (0, 0, 0), 2)
    for name, pts in curves.items():
        # In cutoff order: FRR only grows with the cutoff, so the trace never doubles back.
        if not pts:
            continue
        x, y = _xy(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
        for i in range(len(x) - 1):
            _line(img, x[i], y[i], x[i + 1], y[i + 1], COLORS.get(name, (0, 0, 0)), 3)
    for name, (fa, frr) in points.items():
        x, y = _xy(np.array([fa]), np.array([frr]))
        xi, yi = int(x[0]), int(y[0])
        img[max(0, yi - 5) : yi + 6, max(0, xi - 5) : xi + 6] = COLORS.get(name, (0, 0, 0))
    write_png(path, img)


def _cutoffs(c):
    if isinstance(c, dict):
        vals = sorted(set(c.values()))
        return "%g" % vals[0] if len(vals) == 1 else ", ".join("%s %g" % kv for kv in c.items())
    return "%g" % c


def _pct(v):
    return "%.1f %%" % (100 * v)


def _alike(res, wake):
    """False accepts a sound-alike phrase set off, e.g. "2 (of 140 said)"."""
    if "false_accepts_soundalike" not in res:
        return "-"
    return "%d (of %d said)" % (res["false_accepts_soundalike"], wake["soundalike_phrases"])


def _init_seed(tr):
    """The initial weights' seed, when it is not the data seed (`hushword train --init-seed`)."""
    init = tr.get("init_seed", tr.get("seed"))
    return "" if init == tr.get("seed") else ", initial weights from --init-seed %s" % init


def write_card(out_dir, r, man, summary):
    name = r["model"]
    lines = ["# Model card: `%s`" % name, ""]
    tr = man.get("training", {})
    lines += [
        "| | |",
        "|---|---|",
        "| kind | %s |" % man["kind"],
        "| labels | %s |" % ", ".join("`%s`" % lb for lb in man["labels"]),
        "| architecture | %s |" % "; ".join(man.get("architecture", [])),
        "| size | %d bytes flash, %d bytes arena, %d MACs per 20 ms frame |"
        % (man.get("flash_bytes", 0), man.get("arena_bytes", 0), man.get("macs_per_frame", 0)),
        "| detector | mean of %d frames >= cutoff %s, refractory %.1f s |"
        % (man["sliding_window"], _cutoffs(man["probability_cutoff"]), man["refractory_s"]),
        "| training data | %s |" % man.get("trained_on", "?"),
        "| training | %s examples (3 s each), data %s, training %s s on 2 shared CPU cores, "
        "best epoch %s%s |"
        % (
            tr.get("examples", "?"),
            "from cache" if tr.get("data_seconds", 99) < 5 else "%s s" % tr.get("data_seconds"),
            tr.get("train_seconds", "?"),
            tr.get("best_epoch", "?"),
            _init_seed(tr),
        ),
    ]
    if "val_soundalike_accept_int8" in man:
        lines.append(
            "| cutoff and window chosen on validation voices | window of %s frames, the one "
            "with fewer misses; cutoff the lowest with at most %.2f false accepts/hour "
            "of other audio and %s of sound-alike phrases accepted; there: FRR %s, "
            "sound-alikes accepted %s |"
            % (
                " or ".join(str(w) for w in loop.WAKE_WINDOWS),
                loop.TARGET_FA_PER_HOUR,
                _pct(loop.TARGET_SOUNDALIKE_ACCEPT),
                _pct(man["val_frr_int8"]),
                _pct(man["val_soundalike_accept_int8"]),
            )
        )
    lines += [
        "",
        "## Held-out evaluation",
        "",
        "Voices no model trained or was selected on: espeak-ng accents en-gb-x-gbcwmd and "
        "en-us-nyc, espeak-ng variants held out from training, flite `rms` and festival "
        "`kal_diphone`; in noise (5-25 dB SNR), synthetic rooms and levels from -15 to +6 dB. "
        "Scored with the bit-exact host reference (features and int8 model) and the manifest's "
        "detector settings. Reproduce with `hushword eval` (seed %d)." % summary["seed"],
        "",
    ]
    if r["kind"] == "wake":
        png = "%s_det.png" % name
        curves = {"hushword": [(d["fa_per_hour"], d["frr"]) for d in r["det"]]}
        points = {"hushword": (r["fa_per_hour"], r["frr"])}
        lines += [
            "| model | FRR | false accepts/hour | of them on sound-alike phrases | cutoff |",
            "|---|---|---|---|---|",
            "| hushword `%s` | %s | %.2f (%d in %.2f h) | %s | %.3f |"
            % (
                name,
                _pct(r["frr"]),
                r["fa_per_hour"],
                r["false_accepts"],
                r["negative_hours"],
                _alike(r, r),
                r["cutoff"],
            ),
        ]
        if "microwakeword" in r:
            m = r["microwakeword"]
            curves["microwakeword"] = [(d["fa_per_hour"], d["frr"]) for d in m["det"]]
            points["microwakeword"] = (m["fa_per_hour"], m["frr"])
            lines.append(
                "| microWakeWord `%s` (pymicro-wakeword) | %s | %.2f (%d) | %s | %.2f |"
                % (
                    r["label"],
                    _pct(m["frr"]),
                    m["fa_per_hour"],
                    m["false_accepts"],
                    _alike(m, r),
                    m["cutoff"],
                )
            )
        lines += [
            "",
            "%d held-out phrases; %.2f hours of held-out negative audio (speech, sound-alike "
            "phrases, commands, noise, hum, music-like tones)."
            % (r["positives"], r["negative_hours"]),
            "",
            "FRR by engine: %s"
            % ", ".join("%s %s" % (e, _pct(v)) for e, v in r["frr_by_engine"].items()),
        ]
        if "microwakeword" in r:
            lines.append(
                "(microWakeWord: %s)"
                % ", ".join(
                    "%s %s" % (e, _pct(v)) for e, v in r["microwakeword"]["frr_by_engine"].items()
                )
            )
        lines += _false_accept_lines(r, "hushword")
        if "microwakeword" in r:
            lines += _false_accept_lines(r["microwakeword"], "microWakeWord")
        det_png(os.path.join(out_dir, png), curves, points)
        lines += [
            "",
            "![DET curve](%s)" % png,
            "",
            "DET curve: x = false accepts per hour (log scale, 0.1 to 100; grid lines at "
            "0.1, 1, 10, 100; zero false accepts is drawn at 0.1), y = FRR (0-100 %, dark "
            "grid lines every 10 %). Red: hushword; blue: microWakeWord; squares: shipped "
            "cutoffs.",
        ]
    else:
        lines += [
            "| commands | accuracy | unknown phrases accepted | false commands/hour, window "
            "always open |",
            "|---|---|---|---|",
            "| %d | %s | %s of %d | %.2f |"
            % (
                r["commands"],
                _pct(r["accuracy"]),
                _pct(r["unknown_accepted"]),
                r["unknown_phrases"],
                r["fa_per_hour_window_open"],
            ),
            "",
            "On the device commands are accepted only within 3 s of a wake word, so the "
            "last column is a worst case.",
            "",
            "Confusion (row: said, column: first command fired, None: nothing fired):",
            "",
        ]
        for lab, row in sorted(r["confusion"].items()):
            lines.append(
                "- `%s`: %s"
                % (
                    lab,
                    ", ".join("%s %d" % kv for kv in sorted(row.items(), key=lambda kv: -kv[1])),
                )
            )
        lines += _command_detail_lines(r)
    lines += [
        "",
        "## Limits",
        "",
        "Trained and tested only on synthetic speech (local TTS engines); real voices, "
        "children, far-field rooms and other languages are not measured here.",
        "",
    ]
    with open(os.path.join(out_dir, name + ".md"), "w") as f:
        f.write("\n".join(lines))


def _false_accept_lines(r, who):
    """What each false accept in the negative audio was (older results lack the list)."""
    fas = r.get("false_accept_list")
    if fas is None:
        return []
    if not fas:
        return ["", "No false accepts of %s in the negative audio." % who]
    out = [
        "",
        "False accepts of %s (time in the negative audio, what was said, voice, peak score):"
        % who,
        "",
    ]
    for fa in fas:
        said = '"%s"' % fa["text"] if fa["text"] else "no speech"
        voice = " by %s" % fa["voice"] if fa["voice"] else ""
        out.append("- %.1f s: %s (%s)%s, %.2f" % (fa["t"], said, fa["what"], voice, fa["score"]))
    return out


def _command_detail_lines(r):
    """Accuracy by engine and the unknown phrases taken for commands (older results lack
    them)."""
    out = []
    if r.get("by_engine"):
        out += [
            "",
            "By engine (accuracy on commands; unknown phrases accepted): %s"
            % "; ".join(
                "%s %s of %d, %s of %d"
                % (
                    e,
                    _pct(v["accuracy"]),
                    v["commands"],
                    _pct(v["unknown_accepted"]),
                    v["unknown_phrases"],
                )
                for e, v in r["by_engine"].items()
            ),
        ]
    if r.get("unknown_accepted_list"):
        groups = {}
        for a in r["unknown_accepted_list"]:
            groups.setdefault((a["text"], a["as"]), []).append(a["voice"])
        out += ["", "Unknown phrases taken for a command (phrase as command: times, voices):", ""]
        for (text, got), voices in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            out.append(
                '- "%s" as `%s`: %d (%s)'
                % (text, got, len(voices), ", ".join(sorted(set(voices))))
            )
    return out


def write_index(out_dir, summary):
    """docs/models/README.md: one table of every model's held-out numbers."""
    lines = [
        "# Shipped models",
        "",
        "Measured by `hushword eval` (seed %d) on held-out synthetic voices; %.2f hours of "
        "held-out negative audio. Details, DET curves and limits in each model's card."
        % (summary["seed"], summary["negative_hours"]),
        "",
        "| model | result | microWakeWord on the same audio |",
        "|---|---|---|",
    ]
    for r in summary["models"]:
        if r["kind"] == "wake":
            res = "FRR %s at %.2f false accepts/hour" % (_pct(r["frr"]), r["fa_per_hour"])
            m = r.get("microwakeword")
            mww = "FRR %s at %.2f FA/h" % (_pct(m["frr"]), m["fa_per_hour"]) if m else "-"
        else:
            res = "accuracy %s, unknown phrases accepted %s" % (
                _pct(r["accuracy"]),
                _pct(r["unknown_accepted"]),
            )
            mww = "-"
        lines.append("| [`%s`](%s.md) | %s | %s |" % (r["model"], r["model"], res, mww))
    lines += [
        "",
        "Retrain with `make model` (or `hushword train --word NAME` / `--commands`), evaluate "
        "with `make eval`.",
        "",
    ]
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("\n".join(lines))
