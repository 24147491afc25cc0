import json
import os

from _compat import tmp_path
from hushword import config

_n = [0]


def _path(name):
    _n[0] += 1
    return tmp_path("cfg_%s_%d.json" % (name, _n[0]))


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _good():
    cfg = config.defaults()
    cfg["mode"] = config.MODE_AFTER_WAKE
    cfg["host"] = "192.168.1.20"
    cfg["port"] = 10400
    cfg["counters"]["wyoming_bytes"] = 1234
    return cfg


def test_missing_file_is_never_and_reported():
    s = config.Store(_path("missing"))
    cfg = s.load()
    assert cfg["mode"] == config.MODE_NEVER
    assert s.error[0] == config.ERR_MISSING


def test_save_load_roundtrip_survives_new_store():
    p = _path("roundtrip")
    assert config.Store(p).save(_good())
    s = config.Store(p)  # a new Store is what a reboot or restart sees
    cfg = s.load()
    assert s.error is None
    assert cfg == _good()
    try:
        os.stat(p + ".tmp")
        assert False, "temp file left behind"
    except OSError:
        pass


def test_every_truncation_fails_closed():
    data = json.dumps(_good()).encode()
    p = _path("trunc")
    for cut in range(len(data)):
        _write(p, data[:cut])
        s = config.Store(p)
        cfg = s.load()
        assert cfg["mode"] == config.MODE_NEVER, cut
        assert s.error is not None, cut


def test_corrupt_bytes_fail_closed():
    p = _path("corrupt")
    for data in (b"\xff\xfe\x00garbage", b"{" * 5000, b"null", b"[1,2]", b'"after_wake"', b""):
        _write(p, data)
        s = config.Store(p)
        assert s.load()["mode"] == config.MODE_NEVER
        assert s.error[0] in (config.ERR_CORRUPT, config.ERR_INVALID)


def test_wrong_types_fail_closed_counters_kept():
    p = _path("types")
    bad_values = (
        ("mode", "AFTER_WAKE"),
        ("mode", 1),
        ("mode", None),
        ("mode", ["after_wake"]),
        ("host", 5),
        ("host", "bad host;rm"),
        ("host", "\u00e9xample"),
        ("port", "10700"),
        ("port", 0),
        ("port", 70000),
        ("port", True),
        ("port", 10700.0),
        ("max_utterance_s", 0),
        ("max_utterance_s", 31),
        ("max_utterance_s", "8"),
        ("host", ""),  # after_wake with no endpoint
    )
    for key, value in bad_values:
        cfg = _good()
        cfg[key] = value
        _write(p, json.dumps(cfg).encode())
        s = config.Store(p)
        got = s.load()
        assert got["mode"] == config.MODE_NEVER, (key, value)
        assert got["host"] == "", (key, value)
        assert s.error[0] == config.ERR_INVALID
        assert got["counters"]["wyoming_bytes"] == 1234  # the audit record survives


def test_bad_counters_mean_never_and_keep_the_good_counters():
    p = _path("counters")
    for c in (
        {"wyoming_bytes": -1, "wyoming_sessions": 3},
        {"wyoming_bytes": "9", "wyoming_sessions": 3},
        {"wyoming_bytes": True, "wyoming_sessions": 3},
        {"wyoming_bytes": 1.5, "wyoming_sessions": 3},
        [],
        None,
    ):
        cfg = _good()  # after_wake with a valid endpoint: only the counters are damaged
        cfg["counters"] = c
        _write(p, json.dumps(cfg).encode())
        s = config.Store(p)
        got = s.load()
        assert got["mode"] == config.MODE_NEVER, c
        assert got["host"] == "", c
        assert s.error == (config.ERR_INVALID, "bad field: counters; mode is never"), c
        assert got["counters"]["wyoming_bytes"] == 0, c
        if isinstance(c, dict):
            assert got["counters"]["wyoming_sessions"] == 3, c  # the rest of the record survives


def test_file_without_counters_is_valid_with_zero_counters():
    p = _path("nocounters")
    cfg = _good()
    del cfg["counters"]
    _write(p, json.dumps(cfg).encode())
    s = config.Store(p)
    got = s.load()
    assert s.error is None
    assert got["mode"] == config.MODE_AFTER_WAKE
    assert got["counters"] == config.defaults()["counters"]


def test_leftover_temp_file_is_ignored():
    p = _path("tmp")
    assert config.Store(p).save(config.defaults())
    good = _good()
    _write(p + ".tmp", json.dumps(good).encode()[:40])  # power cut while writing
    assert config.Store(p).load()["mode"] == config.MODE_NEVER
    assert config.Store(p).save(good)
    assert config.Store(p).load()["mode"] == config.MODE_AFTER_WAKE


def test_unwritable_path_reports_error():
    s = config.Store("/nonexistent_dir_hushword/config.json")
    assert not s.save(config.defaults())
    assert s.error[0] == config.ERR_WRITE
