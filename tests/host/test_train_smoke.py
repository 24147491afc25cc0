"""`hushword train --quick` end to end: synthesis, features, one epoch, int8 export."""

import importlib.util
import json
import shutil

import numpy as np
import pytest

from host_tools import cli

needs_train = [
    pytest.mark.skipif(
        importlib.util.find_spec("torch") is None,
        reason="torch not installed (pip install -e .[train])",
    ),
    pytest.mark.skipif(
        not (shutil.which("espeak-ng") and shutil.which("sox")),
        reason="TTS engines not installed (make train-deps)",
    ),
]


def _skip_without_training_tools():
    for mark in needs_train:
        if mark.args[0]:
            pytest.skip(mark.kwargs["reason"])


@pytest.mark.parametrize("what", [["--word", "hey_jarvis"], ["--commands"]])
def test_quick_train_exports_a_loadable_model(tmp_path, monkeypatch, what):
    _skip_without_training_tools()
    monkeypatch.chdir(tmp_path)  # caches go to tmp_path/.cache
    out = tmp_path / "models"
    rc = cli.main(["train", *what, "--quick", "--out", str(out), "--jobs", "1"])
    assert rc == 0
    name = "hey_jarvis" if "--word" in what else "commands"
    man = json.loads((out / (name + ".json")).read_text())
    assert man["kind"] == ("wake" if name == "hey_jarvis" else "command")
    assert (name == "commands") == ("volume_up" in man["labels"])
    from host_tools import modelfile, reference

    model = modelfile.read(out / (name + ".bin"))
    feats = reference.features(
        (np.random.default_rng(0).standard_normal(16000) * 2000).astype(np.int16)
    )
    probs, _ = reference.quantized_forward_numpy(model, feats)
    assert probs.shape == (len(feats), len(man["labels"]))
    # Rerun: everything is cached and the finished checkpoint is reused.
    assert cli.main(["train", *what, "--quick", "--out", str(out), "--jobs", "1"]) == 0
    # Calibrating again on the same validation voices chooses the cutoff training chose.
    (out / (name + ".json")).write_text(json.dumps(dict(man, probability_cutoff={"x": 0.1})))
    assert cli.main(["train", *what, "--quick", "--calibrate", "--out", str(out)]) == 0
    again = json.loads((out / (name + ".json")).read_text())
    assert again == man
    assert cli.main(["train", *what, "--calibrate", "--out", str(tmp_path / "none")]) != 0
    # --wide: C=80 (commands) or C=56 (wake words) with 4-bit first and pointwise layers, on
    # the same cached data; the device runtime loads it and holds less RAM than the default
    # int8 model, and a wide wake model stays within the MACs a wake model may take.
    from host_tools import bench
    from hushword.modelfile import load

    wide = tmp_path / "wide"
    assert cli.main(["train", *what, "--quick", "--wide", "--out", str(wide)]) == 0
    wm = json.loads((wide / (name + ".json")).read_text())
    assert wm["channels"] == (80 if name == "commands" else 56) and wm["format_version"] == 2
    assert sum(" int4" in a for a in wm["architecture"]) == 5
    n8, _ = load(str(out / (name + ".bin")), str(out / (name + ".json")))
    n4, _ = load(str(wide / (name + ".bin")), str(wide / (name + ".json")))
    assert n4.weight_bytes() + n4.arena_bytes() < n8.weight_bytes() + n8.arena_bytes()
    if name != "hey_jarvis":
        return
    assert wm["macs_per_frame"] * 50 <= bench.TARGETS["wake_macs_per_s"]
    # Another initialisation trains another model on the same data, without making it again.
    data = tmp_path / ".cache" / "hushword" / "data"
    made = sorted(p.name for p in data.iterdir())
    other = tmp_path / "other"
    assert cli.main(["train", *what, "--quick", "--init-seed", "1", "--out", str(other)]) == 0
    assert sorted(p.name for p in data.iterdir()) == made
    man1 = json.loads((other / (name + ".json")).read_text())
    assert (man1["training"]["seed"], man1["training"]["init_seed"]) == (0, 1)
    assert (other / (name + ".bin")).read_bytes() != (out / (name + ".bin")).read_bytes()
    # Two tries (both runs above, resumed from their checkpoints) keep the one that did best on
    # the validation voices. A one-epoch model misses everything whatever its seed, so the
    # validation error is made to favour the second try, to see that it is the one kept.
    from host_tools.train import loop

    monkeypatch.setattr(loop, "shipped_error", lambda task, m: 1 - m["training"]["init_seed"])
    best = tmp_path / "best"
    assert cli.main(["train", *what, "--quick", "--tries", "2", "--out", str(best)]) == 0
    assert (best / (name + ".bin")).read_bytes() == (other / (name + ".bin")).read_bytes()
    # Its manifest says what making the data cost, which only the first try paid.
    tries = tmp_path / ".cache" / "hushword" / "tries"
    tried = [
        json.loads((tries / ("%s-init%d" % (name, i)) / (name + ".json")).read_text())
        for i in (0, 1)
    ]
    made_s = [m["training"]["data_seconds"] for m in tried]
    kept = json.loads((best / (name + ".json")).read_text())
    assert kept["training"]["init_seed"] == 1
    assert kept["training"]["data_seconds"] == max(made_s)
    assert cli.main(["train", *what, "--quick", "--tries", "0", "--out", str(best)]) != 0


def test_missing_tts_engines_is_one_clear_line(monkeypatch, capsys):
    from host_tools.train import tts

    monkeypatch.setattr(tts.shutil, "which", lambda cmd: None)
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch not installed: the torch message comes first")
    rc = cli.main(["train", "--word", "hey_jarvis", "--quick", "--out", "/nonexistent-dir-x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0
    assert err == ["hushword: error: install TTS engines with: make train-deps"]


def test_train_window_is_for_wake_words_only(tmp_path, monkeypatch, capsys):
    _skip_without_training_tools()
    monkeypatch.chdir(tmp_path)
    rc = cli.main(["train", "--commands", "--train-window", "3", "--quick", "--out", "m"])
    assert rc != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "hushword: error: --train-window is for wake words; commands use 3"
    assert not (tmp_path / ".cache" / "hushword" / "data").exists()  # refused before any data


def test_interrupted_training_resumes_from_its_last_epoch(tmp_path, monkeypatch):
    _skip_without_training_tools()
    from host_tools.train import loop

    monkeypatch.chdir(tmp_path)
    lines = []

    def stop_after_first_epoch(line):
        lines.append(line)
        if line.startswith('{"epoch": 2'):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        loop.train(
            "hey_jarvis",
            str(tmp_path / "m"),
            quick=True,
            epochs=3,
            jobs=1,
            log=stop_after_first_epoch,
        )
    assert not (tmp_path / "m" / "hey_jarvis.bin").exists()
    lines.clear()
    loop.train("hey_jarvis", str(tmp_path / "m"), quick=True, epochs=3, jobs=1, log=lines.append)
    # Epoch 2 was interrupted before its checkpoint: the rerun starts there, not at epoch 1.
    assert "resuming hey_jarvis from epoch 1" in lines
    assert [json.loads(x)["epoch"] for x in lines if x.startswith('{"epoch"')] == [2, 3]
    # ...and goes on as a run that was never interrupted does: the same losses (the
    # augmentation draws carry on), and the same model to the byte.
    monkeypatch.setattr(loop, "CACHE", str(tmp_path / "fresh-cache"))
    shutil.copytree(tmp_path / ".cache" / "hushword" / "data", tmp_path / "fresh-cache" / "data")
    whole = []
    loop.train("hey_jarvis", str(tmp_path / "n"), quick=True, epochs=3, jobs=1, log=whole.append)
    epochs = [x for x in lines if x.startswith('{"epoch"')]
    assert epochs == [x for x in whole if x.startswith('{"epoch"')][1:]
    m, n = (tmp_path / d / "hey_jarvis.bin" for d in "mn")
    assert m.read_bytes() == n.read_bytes()
