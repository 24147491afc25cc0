"""`hushword eval` end to end on a quick-trained model: metrics, JSON, card and DET PNG."""

import importlib.util
import json
import shutil

import pytest

from host_tools import cli

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("torch") is None,
        reason="torch not installed (pip install -e .[train])",
    ),
    pytest.mark.skipif(
        not (shutil.which("espeak-ng") and shutil.which("sox")),
        reason="TTS engines not installed (make train-deps)",
    ),
]


def test_eval_writes_cards_and_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    models = tmp_path / "models"
    assert (
        cli.main(["train", "--word", "alexa", "--quick", "--out", str(models), "--jobs", "1"]) == 0
    )
    capsys.readouterr()
    out = tmp_path / "cards"
    rc = cli.main(
        [
            "eval",
            "--json",
            "--models",
            str(models),
            "--out",
            str(out),
            "--minutes",
            "0.3",
            "--positives",
            "6",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (r,) = summary["models"]
    assert r["model"] == "alexa" and r["positives"] == 6
    assert 0.0 <= r["frr"] <= 1.0 and r["fa_per_hour"] >= 0.0
    assert r["det_matches_reference"]
    assert 0 <= r["false_accepts_soundalike"] <= r["false_accepts"]
    assert len(r["false_accept_list"]) == r["false_accepts"]
    assert all(0.0 <= fa["score"] <= 1.0 for fa in r["false_accept_list"])
    # The negative audio says which stretch is what: back to back, to its very end.
    from host_tools.train import heldout

    x, segments = heldout.negative_stream(summary["seed"], 18)
    assert segments[0][0] == 0 and segments[-1][1] == len(x) / 16000
    assert all(a[1] == b[0] for a, b in zip(segments, segments[1:]))
    assert r["soundalike_phrases"] == sum(s[2] == "soundalike" for s in segments)
    assert heldout.segment_of(segments[-1][1] - 0.1, segments, latency=0) == segments[-1][2]
    # ...and what was said, by which voice (nothing for noise).
    assert all(bool(s[3]) == bool(s[4]) == (s[2] != "noise") for s in segments)
    assert "microwakeword" in r or importlib.util.find_spec("pymicro_wakeword") is None
    card = (out / "alexa.md").read_text()
    assert card.startswith("# Model card: `alexa`")
    assert (
        "cutoff and window chosen on validation voices" in card
        and "of them on sound-alike" in card
    )
    assert (out / "alexa_det.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_commands_says_which_voices_and_phrases(tmp_path, monkeypatch, capsys):
    """The shipped command model on a few held-out phrases: accuracy by engine adds up to
    the totals, and every unknown phrase accepted is named."""
    from host_tools.paths import FIRMWARE

    models = tmp_path / "models"
    models.mkdir()
    for ext in (".bin", ".json"):
        shutil.copy(FIRMWARE / "models" / ("commands" + ext), models)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cards"
    args = ["eval", "--json", "--models", str(models), "--out", str(out), "--minutes", "0.2"]
    assert cli.main(args + ["--per-command", "2", "--no-microwakeword"]) == 0
    (r,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["models"]
    assert (r["commands"], r["unknown_phrases"]) == (20, 12)
    eng = r["by_engine"].values()
    assert sum(e["commands"] for e in eng) == 20 and sum(e["unknown_phrases"] for e in eng) == 12
    correct = sum(round(e["accuracy"] * e["commands"]) for e in eng)
    assert correct == round(r["accuracy"] * 20)
    assert len(r["unknown_accepted_list"]) == round(r["unknown_accepted"] * 12)
    card = (out / "commands.md").read_text()
    assert "By engine (accuracy on commands; unknown phrases accepted):" in card
