"""The app loop keeps listening whatever a stage does (runs under CPython and MicroPython)."""

import os

from _compat import tmp_path
from hushword import app

CFG = "_test_app_config.json"


class Mic:
    def __init__(self, hops):
        self.hops = hops

    def readinto(self, buf):
        if not self.hops:
            return 0  # the board is switched off: the loop ends
        self.hops -= 1
        mv = memoryview(buf)
        for i in range(len(mv)):
            mv[i] = 0
        return len(mv)


class LED:
    def on(self):
        pass

    def off(self):
        pass


class Board:
    name = "test"

    def __init__(self, hops):
        self.mic = Mic(hops)
        self.led = LED()
        self.button = None
        self.net = None


class Link:
    def __init__(self):
        self.events = []
        self.wire = bytearray()

    def event(self, ev, **fields):
        fields["ev"] = ev
        self.events.append(fields)

    def write(self, data):
        self.wire += bytes(data)

    def poll(self):
        return ()


class Broken:
    HOP = app.HOP

    def __init__(self):
        self.calls = 0

    def process(self, samples):
        self.calls += 1
        if self.calls in (3, 4):
            raise ValueError("stage bug")
        return None


def _cleanup():
    for p in (CFG, CFG + ".tmp"):
        try:
            os.remove(p)
        except OSError:
            pass


def test_a_failing_stage_costs_an_error_event_not_the_loop():
    _cleanup()
    try:
        link = Link()
        a = app.App(Board(10), link=link, models_dir="_no_models_here", config_path=CFG)
        a.pipeline = Broken()
        a.run()
        assert a.n_hops == 10  # every hop after the failures was still processed
        errors = [e for e in link.events if e["ev"] == "error" and e["code"] == "internal"]
        assert len(errors) == 2 and "stage bug" in errors[0]["msg"]
        assert link.wire == b""  # and nothing left the board meanwhile
    finally:
        _cleanup()


def test_cutoff_command_sets_saves_and_reloads():
    _cleanup()
    saved = app.CUTOFFS_PATH
    app.CUTOFFS_PATH = "_test_cutoffs.json"
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    models = tmp_path("app_models")
    try:
        os.mkdir(models)
    except OSError:
        pass
    for ext in (".bin", ".json"):
        src = here + "/test_modelfile_data/tiny" + ext
        with open(src, "rb") as f, open(models + "/tiny" + ext, "wb") as g:
            g.write(f.read())
    try:
        link = Link()
        a = app.App(Board(1), link=link, models_dir=models, config_path=CFG)
        shown = a._cmd_cutoff({})["cutoffs"]["tiny"]
        assert shown["set"] is False
        r = a._cmd_cutoff({"model": "tiny", "value": 0.97})
        assert r["cutoffs"]["tiny"] == {"cutoff": 0.97, "set": True}
        for bad in (
            {"model": "tiny", "value": 1.5},
            {"model": "tiny", "value": "high"},
            {"model": "tiny", "value": True},
            {"model": "tiny"},
            {"model": "nope", "value": 0.5},
        ):
            try:
                a._cmd_cutoff(bad)
                raise AssertionError("accepted %r" % (bad,))
            except ValueError:
                pass
        # saved: a fresh start (a reset) loads it
        b = app.App(Board(1), link=Link(), models_dir=models, config_path=CFG)
        assert b._cmd_cutoff({})["cutoffs"]["tiny"] == {"cutoff": 0.97, "set": True}
        b._cmd_cutoff({"model": "tiny", "value": None})
        c = app.App(Board(1), link=Link(), models_dir=models, config_path=CFG)
        assert c._cmd_cutoff({})["cutoffs"]["tiny"]["set"] is False
        # a broken saved value costs an error event, not the models
        with open(app.CUTOFFS_PATH, "w") as f:
            f.write('{"tiny": 7}')
        link = Link()
        d = app.App(Board(1), link=link, models_dir=models, config_path=CFG)
        assert d._cmd_cutoff({})["cutoffs"]["tiny"]["set"] is False
        assert any("cutoffs" in e.get("msg", "") for e in link.events if e["ev"] == "error")
    finally:
        app.CUTOFFS_PATH = saved
        for p in ("_test_cutoffs.json", "_test_cutoffs.json.tmp"):
            try:
                os.remove(p)
            except OSError:
                pass
        _cleanup()
