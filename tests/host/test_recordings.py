"""`hushword eval --recordings DIR`: the shipped models scored on clips cut from the demo
recording (held-out voices), filed right and wrong on purpose."""

import json

import numpy as np
import pytest

from host_tools import cli, paths, reference, wavio

# Where assets/demo.wav says what (s): two "hey jarvis" + command requests after 2 s of room.
CUTS = {
    ("hey_jarvis", "1"): (1.6, 3.1),
    ("hey_jarvis", "2"): (5.8, 7.2),
    ("lights_on", "1"): (3.1, 4.6),
    ("what_time_is_it", "1"): (7.2, 8.8),
    ("negative", "room"): (0.0, 1.9),
    # Filed wrong on purpose: a command taken for "unknown" talk, and for another command.
    ("unknown", "1"): (3.1, 4.6),
    ("stop", "1"): (3.1, 4.6),
}


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    d = tmp_path_factory.mktemp("rec")
    x = wavio.read(paths.ROOT / "assets" / "demo.wav")
    for (folder, name), (a, b) in CUTS.items():
        (d / folder).mkdir(exist_ok=True)
        wavio.write(d / folder / (name + ".wav"), x[int(a * 16000) : int(b * 16000)])
    (d / "notes").mkdir()
    (d / "notes" / "x.wav").write_bytes((d / "stop" / "1.wav").read_bytes())
    return d


def shipped_cutoff(model):
    man = json.loads((paths.MODELS / (model + ".json")).read_text())
    return man["probability_cutoff"][model]


def by_model(summary):
    return {r["model"]: r for r in summary["models"]}


def test_scores_each_model_on_its_folders(rec, capsys):
    assert cli.main(["eval", "--recordings", str(rec), "--json"]) == 0
    out = capsys.readouterr()
    s = json.loads(out.out)
    assert s["clips"] == 7 and s["skipped"] == [] and s["ignored_folders"] == ["notes"]
    assert "ignored folder notes/" in out.err
    m = by_model(s)
    hj = m["hey_jarvis"]
    assert (hj["clips"], hj["missed"], hj["frr"], hj["cutoff"]) == (
        2,
        [],
        0.0,
        pytest.approx(shipped_cutoff("hey_jarvis"), abs=0.001),
    )
    # Every clip not filed under hey_jarvis/ is negative audio for it.
    assert hj["negative_s"] == pytest.approx(1.5 + 1.6 + 1.9 + 1.5 + 1.5, abs=0.1)
    assert hj["false_accepts"] == []
    # alexa has no clips of its own: everything is negative audio for it.
    assert m["alexa"]["clips"] == 0 and m["alexa"]["frr"] is None
    c = m["commands"]
    assert c["commands"] == 3 and c["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    (w,) = c["wrong"]
    assert (w["file"], w["said"], w["heard"]) == ("stop/1.wav", "stop", "lights_on")
    # How close "stop" came: its highest smoothed score in the clip, below the cutoff.
    assert 0 <= w["peak"] < 0.86
    assert c["accepted"] == [{"file": "unknown/1.wav", "as": "lights_on"}]
    assert c["unknown_accepted"] == 1.0 and c["false_accepts_window_open"] == []


def test_report_and_unreadable_clip(rec, tmp_path, capsys):
    bad = rec / "negative" / "broken.wav"
    bad.write_bytes(b"RIFF\x10\0\0\0WAVEjunk")
    try:
        rc = cli.main(["eval", "--recordings", str(rec)])
    finally:
        bad.unlink()
    out = capsys.readouterr()
    assert rc == 1
    assert "skipped %s: not a readable WAV file" % bad in out.err
    lines = out.out.splitlines()
    assert lines[0] == "7 clips in %s" % rec
    heard = "hey_jarvis   heard 2 of 2 (FRR 0.0 %% at cutoff %.2f)" % shipped_cutoff("hey_jarvis")
    assert any(ln.startswith(heard) for ln in lines)
    assert any("wrong: stop/1.wav as lights_on (stop peak 0." in ln for ln in lines)
    assert any("accepted: unknown/1.wav as lights_on" in ln for ln in lines)


def test_no_matching_folders_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "misc").mkdir()
    assert cli.main(["eval", "--recordings", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no folders of WAV clips named after what they say" in err
    assert cli.main(["eval", "--recordings", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_preroll_repeats_the_quietest_stretch():
    rng = np.random.default_rng(0)
    x = (rng.normal(0, 2000, 32000)).astype(np.int16)
    x[12000:16000] = rng.normal(0, 20, 4000).astype(np.int16)  # a quiet 0.25 s
    p = reference.preroll(x)
    assert len(p) == 16000 and np.std(p) < 40
    assert not reference.preroll(x[:100]).any()


def test_cutoff_override_reaches_the_report(rec, capsys):
    assert cli.main(["eval", "--recordings", str(rec), "--cutoff", "hey_jarvis=0.5"]) == 0
    assert "heard 2 of 2 (FRR 0.0 % at cutoff 0.50)" in capsys.readouterr().out
    assert cli.main(["eval", "--recordings", str(rec), "--cutoff", "hey_jarvis=high"]) == 2
    assert "a number such as 0.95" in capsys.readouterr().err
    assert cli.main(["eval", "--recordings", str(rec), "--cutoff", "nope=0.5"]) == 2
    assert "no model nope" in capsys.readouterr().err
