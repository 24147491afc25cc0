import os

from _compat import IS_MICROPYTHON, skip, tmp_path
from hushword import modelfile
from hushword.modelfile import ModelError

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
DATA = HERE + "/test_modelfile_data"
TMP = tmp_path("modelfile")


def _tmp():
    try:
        os.mkdir(TMP)
    except OSError:
        pass
    return TMP


def _copy(data, manifest=None):
    d = _tmp()
    with open(d + "/m.bin", "wb") as f:
        f.write(data)
    with open(d + "/m.json", "w") as f:
        f.write(manifest if manifest is not None else open(DATA + "/tiny.json").read())
    return d + "/m.bin", d + "/m.json"


def _raw():
    with open(DATA + "/tiny.bin", "rb") as f:
        return f.read()


def _expect_error(binp, jsonp, words):
    try:
        modelfile.load(binp, jsonp)
    except ModelError as e:
        msg = str(e)
        assert words in msg, msg
        return
    raise AssertionError("loaded a bad model")


def _matches_reference_outputs(name, use_viper=True):
    net, man = modelfile.load(DATA + "/%s.bin" % name, DATA + "/%s.json" % name, use_viper)
    assert man["labels"] == ["unknown", "yes", "no"] and net.n_out == 3
    io = open(DATA + "/%s_io.bin" % name, "rb").read()
    feats, want = io[: 40 * 32], io[40 * 32 :]
    got = bytearray()
    for i in range(40):
        got += net.push(feats[i * 32 : (i + 1) * 32])
    assert bytes(got) == want


def test_loads_and_matches_reference_outputs():
    _matches_reference_outputs("tiny")


def test_4bit_model_matches_reference_outputs_in_both_runtimes():
    # tiny4: format v2, 4-bit weights in the conv, pointwise and dense layers (host numpy
    # reference outputs); the viper kernel and the plain-Python twin both reproduce them.
    _matches_reference_outputs("tiny4", use_viper=True)
    _matches_reference_outputs("tiny4", use_viper=False)
    net, _ = modelfile.load(DATA + "/tiny4.bin", DATA + "/tiny4.json")
    assert len(net.w) == (8 * 3 * 32 + 2 * 8 * 8 + 8 * 3) // 2 + 2 * 8 * 3


def test_viper_and_twin_runtime_identical():
    if not IS_MICROPYTHON:
        skip("viper kernels exist only under MicroPython")
    for name in ("tiny", "tiny4"):
        a, _ = modelfile.load(DATA + "/%s.bin" % name, DATA + "/%s.json" % name, True)
        b, _ = modelfile.load(DATA + "/%s.bin" % name, DATA + "/%s.json" % name, False)
        io = open(DATA + "/%s_io.bin" % name, "rb").read()
        for i in range(30):
            fr = io[i * 32 : (i + 1) * 32]
            a.push(fr)
            b.push(fr)
            assert a.logits == b.logits and a.probs == b.probs


def test_rejects_bad_magic_version_crc_truncation():
    raw = _raw()
    _expect_error(*_copy(b"XXXX" + raw[4:]), "magic")
    bad = bytearray(raw)
    bad[4] = 9
    _expect_error(*_copy(bytes(bad)), "version")
    bad = bytearray(raw)
    bad[-5] ^= 0x55
    _expect_error(*_copy(bytes(bad)), "CRC")
    _expect_error(*_copy(raw[:-7]), "truncated")
    _expect_error(*_copy(raw[:10]), "magic")
    _expect_error(*_copy(b""), "magic")
    _expect_error(*_copy(raw + b"junk"), "trailing")


def test_rejects_bad_manifests():
    raw = _raw()
    man = open(DATA + "/tiny.json").read()
    _expect_error(*_copy(raw, man.replace('"hop": 320', '"hop": 160')), "hop")
    _expect_error(*_copy(raw, man[:50]), "JSON")
    _expect_error(*_copy(raw, man.replace('"yes",', "")), "labels")
    _expect_error(*_copy(raw, man.replace('"command"', '"music"')), "kind")
    _expect_error(DATA + "/tiny.bin", DATA + "/missing.json", "missing")


def test_rejects_out_of_range_detection_settings():
    # Values that would load "fine" and then never (or always) fire: the manifest is named.
    raw = _raw()
    man = open(DATA + "/tiny.json").read()
    import json

    base = json.loads(man)
    label = base["labels"][0]
    for key, value in (
        ("probability_cutoff", 5),
        ("probability_cutoff", -0.1),
        ("probability_cutoff", "high"),
        ("probability_cutoff", True),
        ("probability_cutoff", {label: 5}),
        ("probability_cutoff", {"nobody": 0.5}),
        ("sliding_window", 0),
        ("sliding_window", -3),
        ("sliding_window", 2.5),
        ("refractory_s", "2"),
        ("refractory_s", 600),
        ("warmup_frames", -1),
    ):
        m = dict(base)
        m[key] = value
        binp, jsonp = _copy(raw, json.dumps(m))
        _expect_error(binp, jsonp, key)
        _expect_error(binp, jsonp, "m.json")
    for key, value in (("probability_cutoff", 0.5), ("probability_cutoff", {label: 0.9}),
                       ("sliding_window", 1), ("refractory_s", 0), ("warmup_frames", 0)):  # fmt: skip
        m = dict(base)
        m[key] = value
        modelfile.load(*_copy(raw, json.dumps(m)))
