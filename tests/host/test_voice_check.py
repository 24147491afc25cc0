"""scripts/voice_check.py: how the shipped models hear one TTS voice in clean audio."""

import re
import shutil

import pytest

pytestmark = pytest.mark.skipif(
    not (shutil.which("flite") and shutil.which("espeak-ng") and shutil.which("sox")),
    reason="TTS engines not installed (make train-deps)",
)


def test_counts_clips_heard_per_voice(capsys, tmp_path, monkeypatch, script):
    monkeypatch.chdir(tmp_path)  # its TTS cache goes here
    assert script("voice_check").main(["--word", "hey_jarvis", "flite:awb"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"^flite:awb\s+(\d+) of\s+9\s+\(hey_jarvis (\d+)\)$", out, re.M)
    assert m and m.group(1) == m.group(2) and 0 <= int(m.group(1)) <= 9


def test_bad_voice_is_one_line(script):
    with pytest.raises(SystemExit, match="ENGINE:NAME"):
        script("voice_check").parse_voice("rms")
    with pytest.raises(SystemExit, match="no engine 'nosuch'"):
        script("voice_check").parse_voice("nosuch:voice")


def test_microwakeword_column_counts_its_clips_too(capsys, tmp_path, monkeypatch, script):
    pytest.importorskip("pymicro_wakeword")
    monkeypatch.chdir(tmp_path)
    vc = script("voice_check")
    assert vc.main(["--word", "alexa", "--microwakeword", "flite:awb"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"^flite:awb\s+\d+ of\s+9\s+\(alexa \d+\); microWakeWord (\d+) of 9$", out, re.M)
    assert m and 0 <= int(m.group(1)) <= 9
    with pytest.raises(SystemExit, match="--microwakeword needs --word alexa or hey_jarvis"):
        vc.main(["--microwakeword", "flite:awb"])
