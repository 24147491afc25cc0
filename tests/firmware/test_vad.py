import array

from hushword import vad


def _tone(n, amp):
    import math

    return array.array("h", [int(amp * math.sin(i * 0.3)) for i in range(n)])


def test_energy_kernels_agree():
    import random

    random.seed(1)
    a = array.array("h", [random.randint(-32768, 32767) for _ in range(320)])
    assert vad._energy_py(a, 320) == vad.energy(a, 320)
    assert vad.energy(array.array("h", [0] * 320), 320) == 0


def test_speech_like_burst_is_active_then_ends():
    v = vad.VAD()
    quiet = _tone(320, 30)
    loud = _tone(320, 8000)
    changes = []
    for i in range(100):
        if v.update(quiet, 320):
            changes.append((i, v.active))
    for i in range(100, 150):
        if v.update(loud, 320):
            changes.append((i, v.active))
    for i in range(150, 200):
        if v.update(quiet, 320):
            changes.append((i, v.active))
    assert changes[0] == (100, True)
    assert changes[1][1] is False and 150 < changes[1][0] <= 150 + vad.HANGOVER + 1
