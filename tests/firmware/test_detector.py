from array import array

from hushword.detector import Detector, cutoff_q


def _feed(det, seq):
    fired = []
    for t, p in enumerate(seq):
        i = det.update(array("B", p))
        if i >= 0:
            fired.append((t, det.labels[i], det.score))
    return fired


def test_cutoff_rounding_is_platform_independent():
    assert cutoff_q(0.5) == 128 and cutoff_q(0.0) == 0 and cutoff_q(1.0) == 255
    assert cutoff_q(0.9) == 230


def test_window_mean_warmup_and_refractory():
    det = Detector(["hey"], 0.5, window=4, refractory=10, warmup=6)
    seq = [[255]] * 30
    fired = _feed(det, seq)
    # frames 0..5 are warm-up; then one detection, then 10 quiet frames, then again
    assert [t for t, _, _ in fired] == [5, 16, 27]
    assert fired[0][2] == 255


def test_smoothing_ignores_single_spikes():
    det = Detector(["hey"], 0.5, window=4, refractory=0, warmup=0)
    assert _feed(det, [[0], [255], [0], [0], [0], [255], [0]]) == []
    assert _feed(det, [[200], [200], [200]]) != []


def test_unknown_never_fires_and_best_label_wins():
    det = Detector(["unknown", "on", "off"], {"on": 0.3, "off": 0.3}, 2, 100, 0)
    fired = _feed(det, [[255, 0, 0]] * 5 + [[0, 100, 155]] * 2)
    assert [lb for _, lb, _ in fired] == ["off"]


def test_not_allowed_means_no_refractory():
    det = Detector(["on"], 0.5, window=1, refractory=50, warmup=0)
    assert det.update(array("B", [255]), False) == -1
    assert det.update(array("B", [255])) == 0
