"""Voice activity from frame energy against a tracked noise floor; integer math only.

Energy is the mean square of a hop in int16 units. The floor follows quiet frames quickly and
loud frames slowly, so speech reads as ~ONSET_RATIO above the room; HANGOVER keeps short pauses
inside one utterance. It drives utterance ends for forwarding and the level events.
"""

try:
    import micropython
except ImportError:  # CPython (host tools, tests): the plain twin is used
    micropython = None

ONSET_RATIO = 8  # 9 dB above the floor
MIN_ENERGY = 400  # about -64 dBFS (mean square): below this is never speech
HANGOVER = 15  # hops (300 ms)


def _energy_viper(buf, n):
    raise NotImplementedError


if micropython is not None:

    @micropython.viper
    def _energy_viper(buf, n: int) -> int:
        p = ptr16(buf)  # noqa: F821 - viper builtin
        acc = 0
        for i in range(n):
            v = p[i]
            if v > 32767:
                v -= 65536
            acc += (v * v) >> 8
        return acc // n


def _energy_py(buf, n):
    acc = 0
    for i in range(n):
        v = buf[i]
        acc += (v * v) >> 8
    return acc // n


energy = _energy_viper if micropython is not None else _energy_py


class VAD:
    def __init__(self):
        self.floor = MIN_ENERGY
        self.active = False
        self._hang = 0
        self.last_energy = 0

    def update(self, samples, n):
        """Feed one hop of int16 samples; returns True when the active state changed."""
        e = energy(samples, n) << 8
        self.last_energy = e
        f = self.floor
        if e < f:
            f = (f * 3 + e) >> 2  # fall fast
        else:
            f = min(e, f + (f >> 6) + 1)  # rise ~3 dB/s: speech must not lift the floor
        self.floor = max(f, MIN_ENERGY >> 2)
        speech = e > MIN_ENERGY and e > self.floor * ONSET_RATIO
        if speech:
            self._hang = HANGOVER
        elif self._hang:
            self._hang -= 1
        was = self.active
        self.active = speech or self._hang > 0
        return self.active != was


def dbfs(energy_):
    """Mean-square energy in int16 units as dBFS (for events only, off the hot path)."""
    import math

    return round(10 * math.log10(max(energy_, 1) / (32768 * 32768)), 1)
