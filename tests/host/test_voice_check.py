"""scripts/voice_check.py: how the shipped models hear one TTS voice in clean audio."""

import importlib.util
import re
import shutil

import pytest

from host_tools.paths import ROOT

pytestmark = pytest.mark.skipif(
    not (shutil.which("flite") and shutil.which("espeak-ng") and shutil.which("sox")),
    reason="TTS engines not installed (make train-deps)",
)


def _script():
    spec = importlib.util.spec_from_file_location(
        "voice_check", ROOT / "scripts" / "voice_check.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_counts_clips_heard_per_voice(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its TTS cache goes here
    assert _script().main(["--word", "hey_jarvis", "flite:awb"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"^flite:awb\s+(\d+) of\s+9\s+\(hey_jarvis (\d+)\)$", out, re.M)
    assert m and m.group(1) == m.group(2) and 0 <= int(m.group(1)) <= 9


def test_bad_voice_is_one_line():
    with pytest.raises(SystemExit, match="ENGINE:NAME"):
        _script().parse_voice("rms")
