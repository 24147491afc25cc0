"""Frontend -> wake word model(s) + detector, and command model(s) + detector.

Commands count only inside the command window (``command_window_s`` after a wake word, closed
by the first command) unless ``commands_anytime``. A model that is missing or broken adds a
message to ``errors`` and is left out; without a wake model the pipeline only listens.

``process(samples)`` takes exactly HOP int16 samples and returns None or a list of event
dicts ``{"ev": "wake"|"command", "label": ..., "score": 0..1, "t": seconds}`` where t is the
audio time at the end of the detecting frame. The list is reused by the next call (consume it
first). A hop without a detection allocates nothing; only a detection builds its dict.

Memory: a model's manifest is read at load and dropped; a model keeps its network buffers,
its detector, its labels and a few numbers for ``info()``.
"""

import gc
import json
import os

from hushword import frontend
from hushword.detector import Detector
from hushword.modelfile import ModelError, load

HOP = frontend.HOP


class _Model:
    override = None  # the owner's cutoff (Pipeline.set_cutoff); None: the manifest's

    def __init__(self, name, net, manifest):
        self.name = name
        self.net = net
        self.kind = manifest["kind"]
        self.labels = manifest["labels"]
        self.flash_bytes = manifest.get("flash_bytes")
        fps = frontend.FRAMES_PER_S
        cut = manifest.get("probability_cutoff", 0.5)
        self.det = Detector(
            self.labels,
            cut,
            window=manifest.get("sliding_window", 5),
            refractory=int(float(manifest.get("refractory_s", 2.0)) * fps),
            warmup=manifest.get("warmup_frames", 50),
        )
        # The manifest's cutoff, for info() (the highest of its labels' if it gives one each).
        self.default_cutoff = float(max(cut.values()) if isinstance(cut, dict) else cut)


def _size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return 0


def _kind(manifest_path):
    try:
        with open(manifest_path) as f:
            return json.load(f).get("kind")
    except Exception:
        return None  # let the loader report the problem


class Pipeline:
    HOP = HOP

    def __init__(
        self,
        models_dir="models",
        commands_anytime=False,
        command_window_s=3.0,
        use_viper=True,
        wake_words=None,
    ):
        # wake_words: names of the wake models to load (None = all). A board without PSRAM
        # holds one wake word next to the command model.
        self.wake_words = wake_words
        self.models_dir = models_dir
        self.errors = []
        self.wake = []
        self.command = []
        self.commands_anytime = commands_anytime
        self.window_frames = int(command_window_s * frontend.FRAMES_PER_S)
        self.fe = frontend.Frontend(use_viper=use_viper)
        self.feat = bytearray(frontend.N_MELS)
        self.frames = 0
        self._window_left = 0
        self._events = []
        self._load_all(models_dir, use_viper)
        if not self.wake:
            self.errors.append(f"no usable wake word model in {models_dir}: listening only")

    def _load_all(self, models_dir, use_viper):
        try:
            names = sorted(os.listdir(models_dir))
        except OSError:
            self.errors.append(f"models directory {models_dir} not found")
            return
        # Biggest first: its large weight block finds a contiguous run before small objects
        # fragment the heap (and again after a reload frees the old models).
        for n in names:  # a manifest whose model is gone is a half-deployed model: say so
            if n.endswith(".json") and n[:-5] + ".bin" not in names:
                self.errors.append(f"{models_dir}/{n}: no {n[:-5]}.bin beside it")
        names = [n for n in names if n.endswith(".bin")]
        names.sort(key=lambda n: -_size(models_dir + "/" + n))
        for fn in names:
            if not fn.endswith(".bin"):
                continue
            base = models_dir + "/" + fn[:-4]
            if self.wake_words is not None and fn[:-4] not in self.wake_words:
                if _kind(base + ".json") == "wake":
                    continue
            gc.collect()  # the last model's load garbage: each weight block wants one piece
            try:
                net, manifest = load(base + ".bin", base + ".json", use_viper=use_viper)
                m = _Model(manifest.get("name", fn[:-4]), net, manifest)
                manifest = net = None
            except ModelError as e:
                self.errors.append(str(e))
                continue
            except Exception as e:  # a bad manifest value must not stop the device
                self.errors.append(f"{base}.bin: {e}")
                continue
            m.file = fn
            (self.wake if m.kind == "wake" else self.command).append(m)
        # Run (and report) in file-name order, as the host reference does.
        self.wake.sort(key=lambda m: m.file)
        self.command.sort(key=lambda m: m.file)

    def reset(self):
        self.fe.reset()
        for m in self.wake + self.command:
            m.net.reset()
            m.det.reset()
        self.frames = 0
        self._window_left = 0

    def process(self, samples):
        self.fe.process(samples, self.feat)
        self.frames += 1
        events = None
        open_ = self.commands_anytime or self._window_left > 0
        for m in self.command:
            i = m.det.update(m.net.push(self.feat), open_)
            if i >= 0:
                events = self._event(events, "command", m, i)
                if not self.commands_anytime:
                    self._window_left = 0
        if self._window_left > 0:
            self._window_left -= 1
        for m in self.wake:
            i = m.det.update(m.net.push(self.feat))
            if i >= 0:
                events = self._event(events, "wake", m, i)
                self._window_left = self.window_frames
        return events

    def _event(self, events, ev, m, i):
        if events is None:
            events = self._events
            events.clear()
        events.append(
            {
                "ev": ev,
                "label": m.labels[i],
                "score": round(m.det.score / 255, 3),
                "t": round(self.frames * HOP / frontend.SAMPLE_RATE, 3),
                "model": m.name,
            }
        )
        return events

    def set_cutoff(self, name, value):
        """Set model `name`'s cutoff (0..1) for every label of it that fires; None: back to
        its manifest's. False if no such model is loaded."""
        for m in self.wake + self.command:
            if m.name == name:
                if value is None:  # the manifest's own, read again (nothing kept for it)
                    with open("%s/%s.json" % (self.models_dir, m.file[:-4])) as f:
                        m.det.set_cutoffs(json.load(f).get("probability_cutoff", 0.5))
                else:
                    m.det.set_cutoffs(value, only_firing=True)
                m.override = value
                return True
        return False

    def info(self):
        return {
            "models": [
                {
                    "name": m.name,
                    "kind": m.kind,
                    "labels": m.labels,
                    "flash_bytes": m.flash_bytes,
                    "macs_per_frame": m.net.macs_per_frame(),
                    "arena_bytes": m.net.arena_bytes(),
                    "cutoff": m.default_cutoff if m.override is None else m.override,
                    "cutoff_set": m.override is not None,
                }
                for m in self.wake + self.command
            ],
            "errors": list(self.errors),
            "commands_anytime": self.commands_anytime,
        }
