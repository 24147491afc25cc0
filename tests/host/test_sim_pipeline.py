"""Device == host: audio played through the simulated board (firmware under real MicroPython)
yields the same detections, times and scores as `hushword detect`'s numpy reference."""

import shutil
import time

import numpy as np

from host_tools import modelfile as mf
from host_tools import paths
from host_tools import reference as ref
from host_tools import wavio
from host_tools.demo import start_sim
from host_tools.device import Device
from host_tools.sim import install_firmware

LEAD_IN = 2.0


def test_sim_board_detections_equal_the_reference(tmp_path):
    rng = np.random.default_rng(5)
    t = np.arange(3 * 16000) / 16000
    x = (
        3000 * np.sin(2 * np.pi * (150 + 2000 * t) * t) * (np.sin(2 * np.pi * 2 * t) > 0)
        + rng.normal(0, 200, len(t))
    ).astype(np.int16)
    models = tmp_path / "models"
    # A model that fires on this sweep (cutoff 0), so the comparison has events to compare.
    mf.export(
        mf.default_architecture(1, 16, seed=7),
        ["hey"],
        "wake",
        ref.features(x),
        models / "wake",
        probability_cutoff=0.0,
        warmup_frames=10,
        refractory_s=0.5,
    )
    wav = tmp_path / "sweep.wav"
    wavio.write(wav, x)

    fs = tmp_path / "fs"
    install_firmware(fs)
    shutil.rmtree(fs / "models", ignore_errors=True)
    shutil.copytree(models, fs / "models")
    (fs / "wake.json").write_text('{"wake_word": "wake"}')  # the owner's choice of wake model
    proc, port = start_sim(fs, [wav], lead_in=LEAD_IN, fresh=False)
    got = []
    try:
        with Device(port) as dev:
            end = time.monotonic() + LEAD_IN + 3.0 + 3.0
            while time.monotonic() < end:
                for item in dev.read_items():
                    if item[0] == "event" and item[1].get("ev") in ("wake", "command"):
                        got.append(item[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    # The board heard lead-in silence, the sweep, then silence: give the reference the same,
    # and compare everything up to a time both have fully processed.
    audio = np.concatenate(
        [np.zeros(int(LEAD_IN * 16000), np.int16), x, np.zeros(48000, np.int16)]
    )
    horizon = LEAD_IN + 3.0 + 1.5
    want = [e for e in ref.run(audio, models) if e["t"] <= horizon]
    got = [e for e in got if e["t"] <= horizon]
    assert len(want) >= 3, "the test model should fire on the sweep"
    assert len({e["score"] for e in want}) > 3  # varied scores: a real bit-exactness check
    key = lambda e: (e["ev"], e["label"], e["t"], e["score"])  # noqa: E731
    assert [key(e) for e in got] == [key(e) for e in want]


def test_shipped_firmware_boots_whole_on_the_sim_heap(tmp_path):
    """The board's heap (boards/sim/board.json) holds both shipped models and the privacy
    gate with its forwarding buffers (without the gate, info says it is absent)."""
    proc, port = start_sim(tmp_path / "fs", [paths.ROOT / "assets" / "demo.wav"])
    try:
        with Device(port) as dev:
            info = dev.command("info", timeout=15)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert len(info["models"]["models"]) == 2
    assert info["privacy"]["mode"] == "never" and "gate" not in info["privacy"]
