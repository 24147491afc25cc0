import json
import sys
from array import array

import numpy as np
import pytest

from host_tools import modelfile as mf
from host_tools import reference as ref
from host_tools.errors import HushwordError
from host_tools.paths import FIRMWARE

sys.path.insert(0, str(FIRMWARE))
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from hushword.modelfile import ModelError, load
from hushword.pipeline import Pipeline
from test_reference import _speechlike


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    x = np.concatenate([_speechlike(i, 3.0) for i in range(3)])
    f = ref.features(x)
    wake = mf.default_architecture(1, 48, seed=1)
    mf.export(
        wake,
        ["hey_jarvis"],
        "wake",
        f,
        d / "wake",
        probability_cutoff=0.6,
        refractory_s=1.0,
        warmup_frames=20,
    )
    cmd = mf.default_architecture(4, 64, seed=2)
    mf.export(
        cmd,
        ["unknown", "on", "off", "stop"],
        "command",
        f,
        d / "cmd",
        probability_cutoff=0.5,
        refractory_s=0.5,
        warmup_frames=20,
    )
    return d, x, f, wake


def test_manifest_and_sizes(models):
    d, _, _, _ = models
    man = json.loads((d / "wake.json").read_text())
    assert man["kind"] == "wake" and man["labels"] == ["hey_jarvis"]
    assert man["macs_per_frame"] * 50 <= 1_000_000
    assert man["flash_bytes"] == (d / "wake.bin").stat().st_size <= 30 * 1024
    assert man["features"]["hop"] == 320 and man["probability_cutoff"] == {"hey_jarvis": 0.6}


def test_quantised_model_tracks_float_model(models):
    d, _, f, wake = models
    q = mf.read(d / "wake.bin")
    logits_f, _ = mf.float_forward_numpy(wake, f * mf.INPUT_SCALE)
    _, logits_q = ref.quantized_forward_numpy(q, f)
    assert np.corrcoef(logits_f[:, 0], logits_q[:, 0])[0, 1] > 0.98


def test_numpy_forward_bit_exact_with_firmware_runtime(models):
    d, _, f, _ = models
    for name in ("wake", "cmd"):
        net, _ = load(str(d / (name + ".bin")), str(d / (name + ".json")))
        want, _ = ref.quantized_forward_numpy(mf.read(d / (name + ".bin")), f[:150])
        got = np.array([list(net.push(fr.tobytes())) for fr in f[:150]], np.uint8)
        assert np.array_equal(got, want)


def test_pipeline_events_bit_exact_cpython_numpy_micropython(models):
    d, x, _, _ = models
    want = ref.run(x, d)
    assert any(e["ev"] == "wake" for e in want) and any(e["ev"] == "command" for e in want)
    p = Pipeline(str(d))
    got = []
    for i in range(len(x) // 320):
        got += p.process(array("h", x[i * 320 : (i + 1) * 320].tobytes())) or []
    assert got == want and p.errors == []
    if ref.micropython_exe():
        errors, mpy = ref.run_micropython(x, "events", d, commands_anytime=True)
        assert errors == [] and mpy == ref.run(x, d, commands_anytime=True)


def test_commands_only_in_window_unless_anytime(models):
    d, x, _, _ = models
    gated = ref.run(x, d)
    anytime = ref.run(x, d, commands_anytime=True)
    assert [e for e in gated if e["ev"] == "wake"] == [e for e in anytime if e["ev"] == "wake"]
    assert len([e for e in anytime if e["ev"] == "command"]) >= len(
        [e for e in gated if e["ev"] == "command"]
    )
    last_wake = None
    for e in gated:
        if e["ev"] == "wake":
            last_wake = e["t"]
        else:
            assert last_wake is not None and e["t"] - last_wake <= 3.0


def test_broken_models_are_reported_not_fatal(tmp_path, models):
    d, _, _, _ = models
    (tmp_path / "good.bin").write_bytes((d / "wake.bin").read_bytes())
    (tmp_path / "good.json").write_text((d / "wake.json").read_text())
    (tmp_path / "bad.bin").write_bytes((d / "cmd.bin").read_bytes()[:-100])
    (tmp_path / "bad.json").write_text((d / "cmd.json").read_text())
    (tmp_path / "orphan.bin").write_bytes(b"HWM1")
    p = Pipeline(str(tmp_path))
    assert len(p.wake) == 1 and not p.command and len(p.errors) == 2
    assert any("truncated" in e for e in p.errors) and any("orphan" in e for e in p.errors)
    p = Pipeline(str(tmp_path / "nowhere"))
    assert p.errors and p.process(array("h", [0] * 320)) is None
    with pytest.raises(ModelError):
        load(str(tmp_path / "bad.bin"), str(tmp_path / "bad.json"))


def test_export_rejects_bad_layers():
    layers = mf.default_architecture(2)
    layers[1]["cin"] = 7
    with pytest.raises(HushwordError):
        mf.export(layers, ["a", "b"], "wake", np.zeros((10, 32), np.int8), "/tmp/x")
    with pytest.raises(HushwordError):
        mf.export(mf.default_architecture(2), ["a"], "wake", np.zeros((10, 32)), "/tmp/x")


def _odd_layers(seed=4):
    """1x1 layers back to back, one residual over a 1x1 layer: the arena sharing edge cases."""
    rng = np.random.default_rng(seed)

    def lay(t, k, d, cin, cout, relu, res):
        shape = (cout, 1, k) if t == "dwconv" else ((cout, cin) if k == 1 else (cout, cin, k))
        fan = k if t == "dwconv" else cin * k
        w = rng.normal(0, 1.0 / np.sqrt(fan), shape).astype(np.float32)
        b = rng.normal(0, 0.05, cout).astype(np.float32)
        return {"type": t, "k": k, "d": d, "cin": cin, "cout": cout, "relu": relu,
                "residual": res, "weight": w, "bias": b}  # fmt: skip

    return [
        lay("conv", 3, 1, 32, 16, True, False),
        lay("dwconv", 3, 2, 16, 16, False, False),
        lay("pw", 1, 1, 16, 16, True, True),
        lay("pw", 1, 1, 16, 16, True, False),
        lay("pw", 1, 1, 16, 16, True, True),
        lay("dense", 1, 1, 16, 4, False, False),
    ]


_PUSH_SCRIPT = """
import sys
sys.path.insert(0, %(fw)r)
from hushword.modelfile import load
net, _ = load(%(base)r + ".bin", %(base)r + ".json")
f = open(%(feats)r, "rb").read()
out = bytearray()
for i in range(len(f) // 32):
    out += net.push(f[i * 32 : (i + 1) * 32])
print(out.hex())
"""


@pytest.mark.parametrize("w4", [False, True], ids=["int8", "int4"])
def test_odd_architecture_bit_exact_twin_viper_numpy(models, tmp_path, w4):
    import subprocess

    _, _, f, _ = models
    base = tmp_path / "odd"
    layers = _odd_layers()
    if w4:  # every layer that can hold 4-bit weights does; the dwconv stays int8
        for ly in layers:
            if ly["type"] != "dwconv":
                ly["bits"] = 4
    man = mf.export(layers, ["unknown", "a", "b", "c"], "command", f, base)
    q = mf.read(str(base) + ".bin")
    assert man["format_version"] == (2 if w4 else 1)
    assert [ly["bits"] for ly in q["layers"]] == [
        4 if w4 and ly["type"] != "dwconv" else 8 for ly in layers
    ]
    if w4:
        assert all(np.abs(ly["w"]).max() <= 7 for ly in q["layers"] if ly["bits"] == 4)
    want, _ = ref.quantized_forward_numpy(q, f[:120])
    net, _ = load(str(base) + ".bin", str(base) + ".json")
    got = np.array([list(net.push(fr.tobytes())) for fr in f[:120]], np.uint8)
    assert np.array_equal(got, want)
    if ref.micropython_exe():
        (tmp_path / "f.bin").write_bytes(f[:120].tobytes())
        script = tmp_path / "push.py"
        script.write_text(
            _PUSH_SCRIPT
            % {"fw": str(FIRMWARE), "base": str(base), "feats": str(tmp_path / "f.bin")}
        )
        r = subprocess.run(
            [ref.micropython_exe(), str(script)], capture_output=True, text=True, check=True
        )
        mpy = np.frombuffer(bytes.fromhex(r.stdout.strip()), np.uint8).reshape(-1, 4)
        assert np.array_equal(mpy, want)


def test_packed_parameters_are_smaller_than_the_file(models):
    d, _, _, _ = models
    net, _ = load(str(d / "cmd.bin"), str(d / "cmd.json"))
    q = mf.read(d / "cmd.bin")
    file_params = sum(4 * ly["cout"] * (4 if ly["residual"] else 3) for ly in q["layers"])
    packed = 4 * sum(2 * ly["cout"] for ly in q["layers"])
    assert 4 * len(net.p) - packed < 64 * len(q["layers"])  # headers only on top
    assert packed < 0.6 * file_params
    rings = sum(((ly["k"] - 1) * ly["d"] + 1) * ly["cin"] for ly in q["layers"])
    assert len(net.arena) < rings  # single-frame inputs share scratch
    assert mf.arena_bytes(q) == net.arena_bytes()


def test_4bit_weights_halve_the_weight_bytes_and_stay_close_to_float(models, tmp_path):
    d, _, f, _ = models
    layers = mf.default_architecture(4, 64, seed=2)
    for ly in layers:
        if ly["type"] in ("conv", "pw"):
            ly["bits"] = 4
    mf.export(layers, ["unknown", "on", "off", "stop"], "command", f, tmp_path / "c4")
    net8, _ = load(str(d / "cmd.bin"), str(d / "cmd.json"))
    net4, _ = load(str(tmp_path / "c4.bin"), str(tmp_path / "c4.json"))
    half = sum(ly["cout"] * ly["k"] * ly["cin"] // 2 for ly in layers if ly.get("bits") == 4)
    assert len(net8.w) - len(net4.w) == half
    logits_f, _ = mf.float_forward_numpy(layers, f * mf.INPUT_SCALE)
    _, logits_q = ref.quantized_forward_numpy(mf.read(tmp_path / "c4.bin"), f)
    assert np.corrcoef(logits_f.ravel(), logits_q.ravel())[0, 1] > 0.9


def test_4bit_flag_in_a_v1_file_or_on_a_dwconv_is_refused(models, tmp_path):
    import struct
    import zlib

    _, _, f, _ = models
    layers = _odd_layers()
    layers[0]["bits"] = 4
    mf.export(layers, ["unknown", "a", "b", "c"], "command", f, tmp_path / "v2")
    blob = bytearray((tmp_path / "v2.bin").read_bytes())
    body = 32 + 512
    for name, edit in (
        ("v1", lambda b: struct.pack_into("<H", b, 4, 1)),
        ("dw", lambda b: b.__setitem__(body + 16 + 3, b[body + 16 + 3] | 4)),
    ):
        b = bytearray(blob)
        edit(b)
        struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[32:])) & 0xFFFFFFFF)
        (tmp_path / (name + ".bin")).write_bytes(bytes(b))
        (tmp_path / (name + ".json")).write_text((tmp_path / "v2.json").read_text())
        with pytest.raises(ModelError, match="4-bit"):
            load(str(tmp_path / (name + ".bin")), str(tmp_path / (name + ".json")))
    with pytest.raises(HushwordError, match="4-bit"):
        layers[1]["bits"] = 4
        mf.export(layers, ["unknown", "a", "b", "c"], "command", f, tmp_path / "bad")
