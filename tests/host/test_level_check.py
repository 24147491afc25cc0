"""scripts/level_check.py: the held-out audio turned up and down, scored by the shipped models."""

import re
import shutil

import numpy as np
import pytest


def test_gain_scales_and_clips_like_a_microphone(script):
    g = script("level_check").gained
    x = np.array([0, 1000, -1000, 20000, -20000], np.int16)
    assert g(x, 0.0).tolist() == x.tolist()
    assert g(x, -20.0).tolist() == [0, 100, -100, 2000, -2000]
    y = g(x, 20.0)
    assert y.dtype == np.int16 and y.tolist() == [0, 10000, -10000, 32767, -32768]


@pytest.mark.skipif(
    not (shutil.which("flite") and shutil.which("espeak-ng") and shutil.which("sox")),
    reason="TTS engines not installed (make train-deps)",
)
def test_table_has_a_row_per_gain(capsys, tmp_path, monkeypatch, script):
    monkeypatch.chdir(tmp_path)  # the held-out audio it builds goes here
    argv = ["--gains", "-20", "0", "--minutes", "0.1", "--positives", "2", "--per-command", "1"]
    assert script("level_check").main(argv) == 0
    out = capsys.readouterr().out
    head = re.search(r"^\| gain \|(.*)\|$", out, re.M).group(1)
    assert "hey_jarvis FRR" in head and "commands acc" in head
    rows = re.findall(r"^\| ([+-]\d+) dB \|(.*)\|$", out, re.M)
    assert [r[0] for r in rows] == ["-20", "+0"]
    for _, cells in rows:
        cells = [c.strip() for c in cells.split("|")]
        assert len(cells) == len(head.split("|"))
        for c in cells:
            v = float(c.rstrip(" %"))
            assert v >= 0 and (not c.endswith("%") or v <= 100)


def test_no_models_is_one_line(tmp_path, script):
    with pytest.raises(SystemExit, match="no models in"):
        script("level_check").main(["--models", str(tmp_path)])
