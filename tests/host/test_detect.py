import json
import shutil
import wave

import numpy as np
import pytest

from host_tools import cli, wavio
from host_tools import modelfile as mf
from host_tools import reference as ref


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("det")
    rng = np.random.default_rng(0)
    t = np.arange(48000) / 16000
    x = (
        3000 * np.sin(2 * np.pi * (150 + 2000 * t) * t) * (np.sin(2 * np.pi * 2 * t) > 0)
        + rng.normal(0, 200, len(t))
    ).astype(np.int16)
    f = ref.features(x)
    mf.export(
        mf.default_architecture(1, 16, seed=3),
        ["hey"],
        "wake",
        f,
        d / "m" / "wake",
        probability_cutoff=0.0,
        warmup_frames=10,
        refractory_s=0.5,
    )
    wavio.write(d / "a.wav", x)
    with wave.open(str(d / "st.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.repeat(x[::2], 2).astype("<i2").tobytes())
    (d / "bad.wav").write_bytes(b"RIFFnope")
    (d / "trunc.wav").write_bytes((d / "a.wav").read_bytes()[:2000])
    return d, x


def test_json_lines_contract(setup, capsys):
    d, x = setup
    rc = cli.main(["detect", "--json", "--models", str(d / "m"), str(d / "a.wav")])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0 and out
    recs = [json.loads(s) for s in out]
    assert all(set(r) == {"file", "event", "label", "t", "score"} for r in recs)
    # As a board that had been listening would hear the file (after its quietest stretch)...
    want = ref.run_recording(x, d / "m")[0]
    assert [(r["event"], r["t"], r["score"]) for r in recs] == [
        (e["ev"], e["t"], e["score"]) for e in want
    ]
    # ...or, with --no-preroll, as one just switched on: the device pipeline from its start.
    assert (
        cli.main(["detect", "--json", "--no-preroll", "--models", str(d / "m"), str(d / "a.wav")])
        == 0
    )
    cold = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert [(r["event"], r["t"], r["score"]) for r in cold] == [
        (e["ev"], e["t"], e["score"]) for e in ref.run(x, d / "m")
    ]


def test_conversion_notice_and_clear_errors(setup, capsys):
    d, _ = setup
    files = [str(d / n) for n in ("st.wav", "bad.wav", "trunc.wav", "missing.wav")]
    rc = cli.main(["detect", "--models", str(d / "m")] + files)
    err = capsys.readouterr().err
    assert rc == 1
    assert "st.wav: converted 2 channels -> mono, 8000 Hz -> 16000 Hz" in err
    assert "bad.wav: not a readable WAV" in err and "trunc.wav: truncated" in err
    assert "missing.wav: no such file" in err


def test_no_models_is_a_user_error(tmp_path, setup, capsys):
    d, _ = setup
    assert cli.main(["detect", "--models", str(tmp_path), str(d / "a.wav")]) == 2
    assert "no usable models" in capsys.readouterr().err


def test_directory_means_its_wav_files(setup, tmp_path, capsys):
    d, x = setup
    (tmp_path / "sub").mkdir()
    (tmp_path / "empty").mkdir()
    for name in ("sub/b.wav", "a.WAV"):
        (tmp_path / name).write_bytes((d / "a.wav").read_bytes())
    (tmp_path / "notes.txt").write_text("not audio")
    rc = cli.main(
        ["detect", "--json", "--models", str(d / "m"), str(tmp_path), str(tmp_path / "empty")]
    )
    out = capsys.readouterr()
    assert rc == 0
    files = [json.loads(s)["file"] for s in out.out.splitlines()]
    n = len(ref.run(x, d / "m"))
    assert n and files == [str(tmp_path / "a.WAV")] * n + [str(tmp_path / "sub" / "b.wav")] * n
    assert "empty: no .wav files in it" in out.err
    # Nothing at all to run is a failure, not an empty success.
    assert cli.main(["detect", "--models", str(d / "m"), str(tmp_path / "empty")]) == 2
    assert "no .wav files to run" in capsys.readouterr().err


def test_cutoff_override_changes_what_fires(setup, tmp_path, capsys):
    from host_tools.evaluate import smooth

    d, x = setup
    f = ref.features(x)
    for seed in range(20):  # a random two-class wake model, never sure
        mf.export(
            mf.default_architecture(2, 16, seed=seed),
            ["negative", "hey"],
            "wake",
            f,
            tmp_path / "wake",
            probability_cutoff=0.3,
            warmup_frames=10,
            refractory_s=0.2,
        )
        ((_, _, _, man, q),), _ = ref.load_models(tmp_path)
        sm = smooth(ref.quantized_forward_numpy(q, f)[0][:, 1], man["sliding_window"])[10:]
        if 0.5 < sm.max() / 255 < 0.95:
            break
    assert sm.max() / 255 < 0.99
    base = ["detect", "--json", "--no-preroll", "--models", str(tmp_path), str(d / "a.wav")]
    assert cli.main(base) == 0
    loose = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert cli.main(base + ["--cutoff", "wake=0.99"]) == 0
    assert capsys.readouterr().out == ""  # it is never that sure
    assert loose  # at its own cutoff (0.3) it fires...
    assert cli.main(base + ["--cutoff", "wake=0.05"]) == 0
    low = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert len(low) >= len(loose)  # ...and at 0.05 at least as often


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng (make train-deps)")
def test_a_file_that_starts_with_the_word_is_heard_as_a_listening_board_would(tmp_path, capsys):
    from host_tools.train import tts

    # "stop" by a held-out voice, cut to start at its first sound, in a quiet room.
    c = tts.synth(("espeak", "en-us", "m3"), "stop").astype(np.float64)
    c = c[np.flatnonzero(np.abs(c) > 100)[0] :]
    c = np.concatenate([c, np.zeros(8000)]) + np.random.default_rng(0).normal(0, 30, len(c) + 8000)
    wavio.write(tmp_path / "stop.wav", np.clip(c, -32768, 32767).astype(np.int16))
    base = ["detect", "--json", "--commands-anytime", str(tmp_path / "stop.wav")]
    assert cli.main(base) == 0
    heard = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in heard] == ["stop"]
    # From cold the noise floor starts at the word's own level and the word is lost.
    assert cli.main(base + ["--no-preroll"]) == 0
    assert capsys.readouterr().out == ""


def test_damaged_model_directories_are_named_not_silent(setup, tmp_path, capsys):
    d, _ = setup
    wav = str(d / "a.wav")
    # A manifest whose .bin is gone: a warning naming it, and an error (no wake word left).
    gone = tmp_path / "gone"
    gone.mkdir()
    shutil.copy(d / "m" / "wake.json", gone / "wake.json")
    assert cli.main(["detect", "--models", str(gone), wav]) == 2
    err = capsys.readouterr().err
    assert "wake.json: no wake.bin beside it" in err
    # A manifest value out of range or of the wrong type: the .json and the field are named.
    for value in (5, "high"):
        bad = tmp_path / f"bad{value}"
        shutil.copytree(d / "m", bad)
        man = json.loads((bad / "wake.json").read_text())
        (bad / "wake.json").write_text(json.dumps(dict(man, probability_cutoff=value)))
        assert cli.main(["detect", "--models", str(bad), wav]) == 2
        err = capsys.readouterr().err
        assert "wake.json: probability_cutoff" in err and "Traceback" not in err
    # Only a command model: commands follow a wake word, so nothing could ever be heard.
    cmd_only = tmp_path / "cmd"
    shutil.copytree(d / "m", cmd_only)
    man = json.loads((cmd_only / "wake.json").read_text())
    (cmd_only / "wake.json").write_text(json.dumps(dict(man, kind="command")))
    assert cli.main(["detect", "--models", str(cmd_only), wav]) == 2
    assert "no usable wake word model" in capsys.readouterr().err
    assert cli.main(["detect", "--commands-anytime", "--models", str(cmd_only), wav]) == 0


def test_special_files_are_refused_without_reading_them(setup, tmp_path, capsys):
    import os

    d, _ = setup
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    rc = cli.main(["detect", "--models", str(d / "m"), "/dev/zero", str(fifo), str(d / "a.wav")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "/dev/zero: not a regular file" in err and "pipe.wav: not a regular file" in err
