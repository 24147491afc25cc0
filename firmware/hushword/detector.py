"""Posterior smoothing and decisions (after tflite-micro's RecognizeCommands).

Per label: integer mean of the last ``window`` probabilities (0..255); a label fires when its
mean reaches its cutoff, the model has seen ``warmup`` frames and no detection of this model
happened in the last ``refractory`` frames. Labels in NEVER_FIRE (and labels without a cutoff)
only take probability mass. No allocation per frame.
"""

from array import array

NEVER_FIRE = ("unknown", "background", "silence", "_unknown_", "_silence_", "negative")


def cutoff_q(cutoff):
    """Float cutoff (0..1) -> integer threshold on the 0..255 scale, identically on every
    platform (rounded to 1/1000 first, so single-precision floats give the same answer)."""
    return (int(cutoff * 1000 + 0.5) * 255 + 999) // 1000


class Detector:
    def __init__(self, labels, cutoffs, window=5, refractory=100, warmup=50):
        n = len(labels)
        self.labels = labels
        self.n = n
        self.window = max(1, int(window))
        self.refractory = int(refractory)
        self.warmup = int(warmup)
        self.cut = array("H", [0xFFFF] * n)  # 0xFFFF: never fires
        self.set_cutoffs(cutoffs)
        self._hist = bytearray(self.window * n)
        self._sums = array("i", [0] * n)
        self._pos = 0
        self.frames = 0
        self._quiet = 0
        self.score = 0  # mean (0..255) of the last detection

    def set_cutoffs(self, cutoffs, only_firing=False):
        """Thresholds from one cutoff (0..1) for every label, or from {label: cutoff}; labels
        in NEVER_FIRE or without a cutoff never fire. ``only_firing``: change only the labels
        that fire now."""
        for i, lb in enumerate(self.labels):
            if lb in NEVER_FIRE or (only_firing and self.cut[i] == 0xFFFF):
                continue
            c = cutoffs.get(lb) if isinstance(cutoffs, dict) else cutoffs
            self.cut[i] = 0xFFFF if c is None else cutoff_q(float(c))

    def reset(self):
        for i in range(len(self._hist)):
            self._hist[i] = 0
        for i in range(self.n):
            self._sums[i] = 0
        self._pos = 0
        self.frames = 0
        self._quiet = 0

    def update(self, probs, allow=True):
        """Take one frame of probabilities; return the index of a label that fires, or -1.
        ``allow=False`` keeps tracking but may not fire (and starts no refractory period)."""
        n = self.n
        o = self._pos * n
        hist = self._hist
        sums = self._sums
        for i in range(n):
            sums[i] += probs[i] - hist[o + i]
            hist[o + i] = probs[i]
        self._pos += 1
        if self._pos == self.window:
            self._pos = 0
        self.frames += 1
        if self._quiet:
            self._quiet -= 1
            return -1
        if not allow or self.frames < self.warmup:
            return -1
        best = -1
        best_m = -1
        for i in range(n):
            m = sums[i] // self.window
            if m >= self.cut[i] and m > best_m:
                best = i
                best_m = m
        if best >= 0:
            self._quiet = self.refractory
            self.score = best_m
        return best
