"""Evaluation helpers: event counting, DET rows, PNG writer."""

import struct
import zlib

import numpy as np

from host_tools import evaluate
from host_tools.train import cards


def test_events_respect_refractory_and_warmup():
    s = np.zeros(500)
    s[[10, 20, 200, 210, 400]] = 1.0
    ev = evaluate.events(s, 0.5, 0.02, 50, warmup=15)
    assert list(np.round(ev, 2)) == [0.42, 4.02, 8.02]


def test_hits_window():
    meta = [("w", 1.0, 2.0, "v"), ("w", 10.0, 11.0, "v")]
    assert list(evaluate.hits([2.5], meta)) == [True, False]
    assert list(evaluate.hits([3.5, 10.5], meta)) == [False, True]


def test_smooth_is_a_causal_mean():
    p = np.array([0, 3, 3, 3, 0])
    assert list(evaluate.smooth(p, 3)) == [0, 1, 2, 3, 2]


def test_detector_emulation_matches_the_firmware_detector():
    """The DET sweep uses a vectorised detector; it must fire exactly where the device's
    Detector fires."""
    from host_tools import reference  # noqa: F401  (puts firmware/ on sys.path)
    from hushword.detector import Detector

    rng = np.random.default_rng(1)
    probs = (rng.random(3000) ** 6 * 255).astype(np.int64)
    for cutoff, window, refr, warm in [(0.5, 3, 75, 50), (0.8, 5, 20, 10), (0.3, 1, 0, 0)]:
        d = Detector(["negative", "w"], cutoff, window=window, refractory=refr, warmup=warm)
        fired = [i for i, p in enumerate(probs) if d.update([255 - p, p]) == 1]
        s = evaluate.smooth(probs, window)
        ev = evaluate.events(s, evaluate.cutoff_q(cutoff), 1.0, refr, warm)
        assert list(ev.astype(int) - 1) == fired


def test_png_is_valid(tmp_path):
    path = tmp_path / "d.png"
    cards.det_png(str(path), {"hushword": [(0.2, 0.1), (5, 0.01)]}, {"hushword": (1, 0.05)})
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    assert (w, h) == (cards.W, cards.H)
    n = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41 : 41 + n])
    assert len(raw) == h * (1 + 3 * w)


def test_card_names_the_initialisation_only_when_it_is_not_the_data_seed():
    assert cards._init_seed({"seed": 0, "init_seed": 0}) == ""
    assert cards._init_seed({"seed": 0}) == ""
    assert cards._init_seed({"seed": 0, "init_seed": 1}).endswith("--init-seed 1")


def test_cards_say_what_fired():
    """A wake card lists each false accept (phrase, voice, score); a command card gives
    accuracy by engine and which unknown phrases were taken for which command."""
    wake = {
        "false_accept_list": [
            {
                "t": 12.3,
                "what": "soundalike",
                "text": "a jarvis",
                "voice": "flite:rms",
                "score": 0.92,
            },
            {"t": 80.0, "what": "noise", "text": "", "voice": "", "score": 0.95},
        ]
    }
    lines = cards._false_accept_lines(wake, "hushword")
    assert '- 12.3 s: "a jarvis" (soundalike) by flite:rms, 0.92' in lines
    assert "- 80.0 s: no speech (noise), 0.95" in lines
    assert cards._false_accept_lines({"false_accepts": 0}, "hushword") == []  # older results
    none = cards._false_accept_lines({"false_accept_list": []}, "hushword")
    assert none == ["", "No false accepts of hushword in the negative audio."]
    cmd = {
        "by_engine": {
            "espeak": {
                "commands": 10,
                "accuracy": 0.9,
                "unknown_phrases": 6,
                "unknown_accepted": 0.5,
            },
        },
        "unknown_accepted_list": [
            {"text": "lights are off", "as": "lights_off", "voice": "espeak:en-us"},
            {"text": "lights are off", "as": "lights_off", "voice": "flite:rms"},
            {"text": "time flies", "as": "what_time_is_it", "voice": "espeak:en-us"},
        ],
    }
    text = "\n".join(cards._command_detail_lines(cmd))
    assert "espeak 90.0 % of 10, 50.0 % of 6" in text
    first, second = [ln for ln in text.splitlines() if ln.startswith("- ")]
    assert first == '- "lights are off" as `lights_off`: 2 (espeak:en-us, flite:rms)'
    assert second == '- "time flies" as `what_time_is_it`: 1 (espeak:en-us)'


def test_eval_summary_line_says_what_fired():
    fa = {"t": 1.0, "what": "noise", "text": "", "voice": "", "score": 0.931}
    assert evaluate.fired_summary({"false_accept_list": [fa]}) == 'fired on "noise" (-, 0.93)'
    taken = [{"text": "lights are off", "as": "lights_off", "voice": "v%d" % i} for i in range(3)]
    taken.append({"text": "time flies", "as": "stop", "voice": "v"})
    line = evaluate.fired_summary({"unknown_accepted_list": taken}, first=1)
    assert line == 'fired on "lights are off" as lights_off x3 and 1 more'
    assert evaluate.fired_summary({"false_accept_list": []}) == ""


def test_cards_of_other_models_do_not_overwrite_the_shipped_ones(tmp_path):
    from host_tools import paths

    shipped = evaluate.cards_dir(str(paths.MODELS))
    assert shipped == str(paths.ROOT / "docs" / "models")
    assert evaluate.cards_dir(str(tmp_path)) == str(tmp_path / "cards")
    assert evaluate.cards_dir(str(tmp_path), "x") == "x"
    assert evaluate.cards_dir(str(tmp_path), "") == ""  # --out "": no cards
