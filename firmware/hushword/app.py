"""Wires the stages: mic -> VAD + keyword pipeline -> events; every hop's audio -> the gate.

The app owns the buffers (one hop of samples, allocated once) and the serial link. It never
sends audio itself: only the gate holds a path to a transport with audio in hand.
"""

import array
import gc
import json
import os
import sys

from hushword import VERSION, protocol
from hushword.link import Link
from hushword.vad import VAD, dbfs

RATE = 16000
HOP = 320  # 20 ms; the keyword pipeline checks its own HOP against this


def _byte_view(arr):
    """A byte-addressed view of an array's memory (readinto fills the samples in place)."""
    try:
        return memoryview(arr).cast("B")  # CPython
    except AttributeError:
        import uctypes

        return uctypes.bytearray_at(uctypes.addressof(arr), len(arr) * 2)


class App:
    def __init__(self, board, link=None, models_dir="models", config_path="config.json"):
        self.board = board
        self.link = link or Link()
        self.samples = array.array("h", bytes(2 * HOP))
        self._bytes = _byte_view(self.samples)
        self.n_hops = 0
        self.vad = VAD()
        self.pipeline = None
        self.gate = None
        self.levels = False
        self._utt_start = 0.0
        self._utt_peak = 0
        self._commands = {
            "ping": self._cmd_ping,
            "info": self._cmd_info,
            "button": self._cmd_button,
            "levels": self._cmd_levels,
            "wifi": self._cmd_wifi,
            "wake_word": self._cmd_wake_word,
            "cutoff": self._cmd_cutoff,
        }
        self.models_dir = models_dir
        self._reset_after_reply = False
        # The gate's code is compiled first (its garbage is then collected), the models come
        # next (their large weight blocks need the heap while it is still whole), the gate's
        # buffers last.
        try:
            from hushword import gate  # noqa: F401
        except Exception:  # no gate in this build, or no room: _load_gate says which
            pass
        gc.collect()
        self._load_pipeline(models_dir)
        self._load_gate(config_path)

    # --- set-up: every failure leaves a safe, listening board -------------------------------

    def _load_gate(self, config_path):
        try:
            from hushword import config, gate
        except ImportError:
            return  # no gate in this build: no path for audio to leave at all
        except Exception as e:  # no room to compile it: fail closed, keep listening
            self._error("gate", e)
            return
        gc.collect()  # model loading leaves garbage; the gate's buffers want whole blocks
        try:
            self.gate = gate.Gate(config.Store(config_path), self.link, self.board)
        except Exception as e:  # fail closed: without a gate no audio can leave
            self._error("gate", e)

    def _load_pipeline(self, models_dir):
        try:
            from hushword.pipeline import Pipeline
        except ImportError:
            self.link.event("notice", msg="no keyword pipeline in this build; voice activity only")
            return
        try:
            p = Pipeline(models_dir=models_dir, wake_words=(wake_word(),))
        except Exception as e:
            self._error("model", e)
            return
        if p.HOP != HOP:
            self.link.event(
                "error", code="model", msg="pipeline hop %d != app hop %d" % (p.HOP, HOP)
            )
            return
        for msg in getattr(p, "errors", ()):
            self.link.event("error", code="model", msg=msg)
        self.pipeline = p
        # The owner's cutoffs (a model not loaded now, e.g. another wake word, keeps its own
        # for when it is chosen).
        for name, value in saved_cutoffs().items():
            try:
                p.set_cutoff(name, check_cutoff(value))
            except Exception as e:
                self.link.event("error", code="model", msg="%s: %s: %s" % (CUTOFFS_PATH, name, e))

    def _error(self, code, exc):
        self.link.event("error", code=code, msg="%s: %s" % (type(exc).__name__, exc))

    # --- the loop ----------------------------------------------------------------------------

    def boot_event(self):
        self.link.event(
            "boot",
            version=VERSION,
            board=self.board.name,
            models=self._models(),
            mode=self._privacy().get("mode", "never"),
        )

    def run(self, max_hops=None):
        self.boot_event()
        errors = 0
        try:
            while max_hops is None or self.n_hops < max_hops:
                try:
                    if not self.step():
                        break
                except MemoryError as e:
                    errors = self._survive(errors, "memory", e)
                except Exception as e:  # a bug in one stage must not stop the board listening
                    errors = self._survive(errors, "internal", e)
        finally:
            # Ctrl-C (KeyboardInterrupt is not an Exception), a stopped mic, or the end of a
            # test run: close what is open and save the counters, since no tick() follows.
            if self.gate is not None:
                try:
                    self.gate.shutdown()
                except Exception as e:  # noqa: BLE001 - report it; the way out stays the same
                    self._error("internal", e)

    def _survive(self, errors, code, exc):
        gc.collect()
        if errors < 20:  # say so, but never flood the link with the same failure
            self._error(code, exc)
        if self.gate is not None:
            try:
                self.gate.fail_closed()  # whatever was open closes; nothing leaves
            except Exception:
                pass
        return errors + 1

    def step(self):
        """One hop: read the mic, listen, let the gate see the audio, serve the serial link."""
        n = self.board.mic.readinto(self._bytes)
        if n < len(self._bytes):
            self.link.event("notice", msg="microphone stopped")
            return False
        self.n_hops += 1
        t = self.n_hops * HOP / RATE
        if self.vad.update(self.samples, HOP):
            self._vad_changed(t)
        elif self.vad.active and self.vad.last_energy > self._utt_peak:
            self._utt_peak = self.vad.last_energy
        if self.pipeline is not None:
            events = self.pipeline.process(self.samples)
            if events:
                for ev in events:
                    self._detection(ev)
        if self.gate is not None:
            self.gate.audio(self._bytes)
            self.gate.tick()  # the gate keeps its own clock
        if self.levels and self.n_hops % 50 == 0:
            self.link.event(
                "level", t=round(t, 2), dbfs=dbfs(self.vad.last_energy), vad=self.vad.active
            )
        for obj, err in self.link.poll():
            self._serve(obj, err)
        return True

    def _vad_changed(self, t):
        if self.vad.active:
            self._utt_start = t
            self._utt_peak = self.vad.last_energy
            self.link.event("vad", active=True, t=round(t, 2))
        else:
            self.link.event(
                "vad",
                active=False,
                t=round(t, 2),
                dur=round(t - self._utt_start, 2),
                peak_dbfs=dbfs(self._utt_peak),
            )
        if self.gate is not None:
            self.gate.vad(self.vad.active, t)

    def _detection(self, ev):
        name = ev.pop("ev", "wake")
        self.link.event(name, **ev)
        if name == "wake" and self.gate is not None:
            self.gate.wake(ev.get("label"), ev.get("score"), ev.get("t"))

    # --- serial commands ---------------------------------------------------------------------

    def _serve(self, obj, err):
        if err is not None:
            self.link.event("error", code=err, msg=_ERR_HELP.get(err, err))
            return
        cmd = obj.get("cmd")
        rid = obj.get("id")
        try:
            handler = self._commands.get(cmd)
            if handler is not None:
                fields = handler(obj)
            elif self.gate is not None:
                fields = self.gate.command(obj)
                if fields is None:
                    raise KeyError(cmd)
            else:
                raise KeyError(cmd)
        except KeyError:
            self._reply(rid, False, error="unknown command %r" % (cmd,), code=protocol.ERR_BAD_CMD)
            return
        except (ValueError, TypeError) as e:
            self._reply(rid, False, error=str(e), code=protocol.ERR_BAD_ARGS)
            return
        except Exception as e:  # a bug must not stop the listening loop
            self._reply(rid, False, error="%s: %s" % (type(e).__name__, e), code="internal")
            return
        self._reply(rid, True, **(fields or {}))
        if self._reset_after_reply:
            import machine

            machine.soft_reset()

    def _reply(self, rid, ok, **fields):
        if rid is not None:
            fields["id"] = rid
        fields["ok"] = ok
        self.link.event("reply", **fields)

    def _cmd_ping(self, obj):
        return {"pong": True}

    def _cmd_info(self, obj):
        gc.collect()
        return {
            "version": VERSION,
            "board": self.board.name,
            "platform": sys.platform,
            "mem_free": gc.mem_free(),
            "mem_alloc": gc.mem_alloc(),
            "models": self._models(),
            "privacy": self._privacy(),
            "uptime_s": round(self.n_hops * HOP / RATE, 2),
        }

    def _cmd_button(self, obj):
        button = getattr(self.board, "button", None)
        if button is None or not hasattr(button, "press"):
            raise ValueError("this board's button can only be pressed by hand")
        button.press()
        return {}

    def _cmd_levels(self, obj):
        on = obj.get("on", True)
        if not isinstance(on, bool):
            raise ValueError("'on' must be true or false")
        self.levels = on
        return {"levels": on}

    def _cmd_wake_word(self, obj):
        """Show or choose the wake word. A new choice is saved, then the board soft-resets so
        the models load into a fresh heap (a large weight block needs a contiguous run)."""
        name = obj.get("name")
        if name is None or name == wake_word():
            return {"wake_word": wake_word(), "models": self._models()}
        if not isinstance(name, str) or "/" in name or not name:
            raise ValueError("'name' must be a model name, e.g. hey_jarvis")
        try:
            os.stat("%s/%s.bin" % (self.models_dir, name))
        except OSError:
            raise ValueError("no model %s in %s (deploy it first)" % (name, self.models_dir))
        from hushword.config import write_atomic

        write_atomic(WAKE_PATH, json.dumps({"wake_word": name}))
        self._reset_after_reply = True
        return {"wake_word": name, "rebooting": True}

    def _cmd_cutoff(self, obj):
        """Show the models' cutoffs, or set one: {"model": NAME, "value": 0.05..0.999, or
        null for the model's own}. A set cutoff is saved and holds after a reset."""
        if self.pipeline is None or not hasattr(self.pipeline, "set_cutoff"):
            raise ValueError("no models loaded")
        name = obj.get("model")
        if name is not None:
            if not isinstance(name, str) or "/" in name or not name:
                raise ValueError("'model' must be a model name, e.g. hey_jarvis")
            if "value" not in obj:
                raise ValueError("give 'value': a cutoff 0.05..0.999, or null for the model's own")
            value = check_cutoff(obj["value"])
            if not self.pipeline.set_cutoff(name, value):
                # Another wake word, on flash but not chosen now: keep the owner's cutoff for
                # when it is (the pipeline applies saved cutoffs at load).
                try:
                    os.stat("%s/%s.bin" % (self.models_dir, name))
                except OSError:
                    raise ValueError("no model %s on the board" % name)
            saved = saved_cutoffs()
            if value is None:
                saved.pop(name, None)
            else:
                saved[name] = value
            from hushword.config import write_atomic

            write_atomic(CUTOFFS_PATH, json.dumps(saved))
        models = self._models().get("models", [])
        out = {m["name"]: {"cutoff": m["cutoff"], "set": m["cutoff_set"]} for m in models}
        for n, v in saved_cutoffs().items():  # set for a model that is not loaded now
            if n not in out:
                out[n] = {"cutoff": v, "set": True, "loaded": False}
        return {"cutoffs": out}

    def _cmd_wifi(self, obj):
        net = getattr(self.board, "net", None)
        if net is None or not hasattr(net, "start"):
            if "ssid" in obj:
                raise ValueError(
                    "this board has no Wi-Fi to set (the sim uses the host's network)"
                )
            # Status only: say how (or whether) this board reaches a network.
            return {"connected": net is not None, "ip": None,
                    "network": "host" if net is not None else "none"}  # fmt: skip
        if "ssid" in obj:
            from hushword import netcfg

            netcfg.save(obj.get("ssid"), obj.get("password", ""))
            net.start()
        return net.status()

    def _models(self):
        if self.pipeline is None:
            return []
        info = getattr(self.pipeline, "info", None)
        return info() if info else []

    def _privacy(self):
        if self.gate is None:
            return {"mode": "never", "forwarded_bytes": 0, "debug_bytes": 0, "gate": "absent"}
        return self.gate.status()


CUTOFFS_PATH = "cutoffs.json"
CUTOFF_MIN, CUTOFF_MAX = 0.05, 0.999


def check_cutoff(value):
    """A cutoff from the owner: None (the model's own) or a number in CUTOFF_MIN..MAX."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("a cutoff is a number, e.g. 0.95")
    if not CUTOFF_MIN <= value <= CUTOFF_MAX:
        raise ValueError("a cutoff is between %g and %g" % (CUTOFF_MIN, CUTOFF_MAX))
    return float(value)


def saved_cutoffs():
    """{model: cutoff} the owner set (cutoffs.json), {} when none or unreadable."""
    try:
        with open(CUTOFFS_PATH) as f:
            d = json.load(f)
        return d if isinstance(d, dict) else {}
    except Exception:
        return {}


WAKE_PATH = "wake.json"
DEFAULT_WAKE_WORD = "hey_jarvis"


def wake_word():
    """The owner's chosen wake word (wake.json), else the default."""
    try:
        with open(WAKE_PATH) as f:
            name = json.load(f)["wake_word"]
        if isinstance(name, str) and name:
            return name
    except Exception:
        pass
    return DEFAULT_WAKE_WORD


_ERR_HELP = {
    protocol.ERR_NO_PREFIX: "not a command: send '@hw {\"cmd\": ...}' lines, or Ctrl-C for the REPL",
    protocol.ERR_TOO_LONG: "line longer than %d bytes ignored" % protocol.MAX_LINE,
    protocol.ERR_BAD_JSON: "command is not a JSON object",
}


def main():
    import board

    App(board.make()).run()
