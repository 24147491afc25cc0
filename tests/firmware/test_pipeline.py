import os
from array import array

from _compat import IS_MICROPYTHON, skip, tmp_path
from hushword import nn
from hushword.pipeline import Pipeline

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
DATA = HERE + "/test_modelfile_data"
TMP = tmp_path("pipeline")


def _models_dir():
    try:
        os.mkdir(TMP)
    except OSError:
        pass
    for ext in (".bin", ".json"):
        with open(DATA + "/tiny" + ext, "rb") as src, open(TMP + "/tiny" + ext, "wb") as dst:
            dst.write(src.read())
    return TMP


def _hop(i):
    # a loud, changing tone-ish signal: every stage does real work
    return array("h", [((n * (7 + i)) % 200 - 100) * 150 for n in range(320)])


def test_hot_loop_allocates_nothing():
    if not IS_MICROPYTHON:
        skip("allocation is measured with gc.mem_alloc under MicroPython")
    import gc

    import micropython

    p = Pipeline(_models_dir())  # a command model and no wake word: the window stays shut
    assert p.command and not p.wake
    hops = [_hop(i) for i in range(8)]
    p.process(hops[0])
    gc.collect()
    before = gc.mem_alloc()
    micropython.heap_lock()  # any allocation now raises MemoryError
    try:
        for _ in range(5):
            for h in hops:
                assert p.process(h) is None
    finally:
        micropython.heap_unlock()
    assert gc.mem_alloc() - before == 0


def test_manifest_is_not_kept_and_info_still_complete():
    p = Pipeline(_models_dir())
    m = p.command[0]
    assert not hasattr(m, "manifest")
    info = p.info()["models"][0]
    assert info["labels"] == ["unknown", "yes", "no"] and info["flash_bytes"] > 0
    assert info["macs_per_frame"] == m.net.macs_per_frame() > 0


def test_events_list_is_reused():
    p = Pipeline(_models_dir(), commands_anytime=True)
    lists = []
    for i in range(300):
        ev = p.process(_hop(i % 13))
        if ev:
            assert all(e["ev"] == "command" for e in ev)
            lists.append(ev)
    if not lists:
        skip("the tiny model never fired on this signal")
    assert all(x is lists[0] for x in lists)


def test_single_frame_inputs_share_scratch():
    # conv -> dw -> pw(+res) -> dense: pw's input feeds no residual, dense's neither.
    specs = [
        (nn.TYPE_CONV, 3, 1, 32, 8, True, False),
        (nn.TYPE_DWCONV, 3, 1, 8, 8, False, False),
        (nn.TYPE_PW, 1, 1, 8, 8, True, True),
        (nn.TYPE_PW, 1, 1, 8, 8, True, False),
        (nn.TYPE_DENSE, 1, 1, 8, 3, False, False),
    ]
    net = nn.Net(specs, nn.OUT_SOFTMAX, nn.zeros("H", 256))
    own = 3 * 32 + 3 * 8  # conv and dwconv rings; dwconv's feeds pw's residual
    assert len(net.arena) == 2 * 32 + 3 + own
    p = net.p
    xs = []
    i = nn.N_HEAD
    for _ in specs:
        xs.append(p[i + nn.L_X])
        i += nn.L_HEAD + 2 * p[i + nn.L_COUT]
    # the 1x1 layers alternate between the two scratch slots; the rings are elsewhere
    assert xs[2] != xs[3] and xs[3] != xs[4] and xs[2] == xs[4] and max(xs[2:]) < 64


def _fires(p, hops=300):
    n = 0
    p.reset()
    for i in range(hops):
        ev = p.process(_hop(i % 13))
        n += len(ev) if ev else 0
    return n


def test_set_cutoff_overrides_and_restores_the_manifest():
    p = Pipeline(_models_dir(), commands_anytime=True)
    m = p.command[0]
    own = m.det.cut[:]
    info = p.info()["models"][0]
    assert info["cutoff_set"] is False and 0 < info["cutoff"] < 1
    assert p.set_cutoff(m.name, 0.999)
    # every label that fires now has the new threshold; "unknown" still never fires
    assert [c for c in m.det.cut] == [0xFFFF, 255, 255]
    assert p.info()["models"][0]["cutoff"] == 0.999 and p.info()["models"][0]["cutoff_set"]
    strict = _fires(p)
    assert p.set_cutoff(m.name, 0.05)
    loose = _fires(p)
    assert loose > strict  # a lower cutoff lets more through on the same audio
    assert p.set_cutoff(m.name, None)
    assert [c for c in m.det.cut] == [c for c in own]
    assert p.info()["models"][0]["cutoff_set"] is False
    assert not p.set_cutoff("no_such_model", 0.5)


def test_manifest_without_its_model_is_reported():
    d = _models_dir()
    with open(d + "/gone.json", "w") as f:
        f.write("{}")
    try:
        p = Pipeline(d)
        assert any("gone.json: no gone.bin" in e for e in p.errors), p.errors
        assert p.info()["models"]  # the good model still loads
    finally:
        os.remove(d + "/gone.json")
