"""`hushword stream` against the real gate on a pty (see test_privacy_cli.PtyBoard)."""

import json
import wave

import pytest
from hushword import protocol

from host_tools import cli, stream
from tests.host.test_privacy_cli import PtyBoard


@pytest.fixture
def board(tmp_path):
    b = PtyBoard(tmp_path / "config.json")
    yield b
    b.close()


def _stream(board, capsys, *argv):
    rc = cli.main(["stream", "--port", board.port, "--quiet", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_refused_without_debug_permission(board, capsys, tmp_path):
    rc, _, err = _stream(board, capsys, "--seconds", "1", "-o", str(tmp_path / "x.wav"))
    assert rc == 2 and f"'hushword privacy --port {board.port} allow-debug SECONDS'" in err
    assert not (tmp_path / "x.wav").exists()
    assert board.gate.status()["debug_bytes"] == 0


@pytest.mark.parametrize("codec,baud", [("adpcm", 115200), ("pcm16", 921600)])
def test_records_lossless_wav(board, capsys, tmp_path, codec, baud):
    board.gate.command({"cmd": "privacy", "action": "allow_debug", "seconds": 30})
    out = tmp_path / "rec.wav"
    rc, so, _ = _stream(
        board, capsys, "--seconds", "1", "--codec", codec, "--baud", str(baud), "-o", str(out),
        "--json",
    )  # fmt: skip
    assert rc == 0
    summary = json.loads(so)
    assert summary["lost"] == 0 and summary["corrupt"] == 0
    assert summary["ended"] == "done"
    # The board closes the stream by its clock: a loaded host may deliver a few frames late
    # in a burst, so the count varies a little around 50 (1 s of 20 ms frames).
    assert 45 <= summary["frames"] <= 55
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (16000, 2, 1)
        data = w.readframes(w.getnframes())
    level = stream.level_dbfs(data[6400:])
    assert -14 < level < -10  # the board's -12 dBFS square wave, through the codec
    st = board.gate.status()
    assert st["debug_bytes"] > 0 and st["debug_sessions"] == 1 and st["forwarded_bytes"] == 0


def test_pcm16_refused_at_low_baud(board, capsys, tmp_path):
    rc, _, err = _stream(
        board, capsys, "--codec", "pcm16", "--baud", "115200", "-o", str(tmp_path / "x.wav")
    )
    assert rc == 2 and "460800" in err


def test_link_budget():
    assert stream.link_fits("adpcm", 115200)
    assert not stream.link_fits("pcm16", 115200)
    assert not stream.link_fits("pcm16", 230400)
    assert stream.link_fits("pcm16", 460800)


def test_recorder_counts_gaps_across_wraparound():
    from hushword import adpcm

    block = bytearray(adpcm.block_size(320))
    rec = stream.Recorder("adpcm")
    for seq in (65533, 65534, 1, 2):  # 65535 and 0 lost
        flags = protocol.FLAG_START if seq == 65533 else 0
        rec.frame(protocol.KIND_ADPCM, flags, seq, bytes(block))
    rec.frame(protocol.KIND_ADPCM, protocol.FLAG_END, 3, b"")
    assert rec.lost == 2 and rec.frames == 4 and rec.ended
    assert len(rec.pcm) == 6 * 640  # lost hops kept as silence


def test_vanished_port_keeps_the_audio_received(board, capsys, tmp_path):
    # The board is unplugged 1.5 s into a 10 s stream: the 1.5 s are saved, then one error line.
    import threading

    board.gate.command({"cmd": "privacy", "action": "allow_debug", "seconds": 30})
    out = tmp_path / "rec.wav"
    threading.Timer(1.5, board.close).start()
    rc, _, err = _stream(board, capsys, "--seconds", "10", "-o", str(out))
    assert rc == 2
    assert "lost the port" in err and "kept the" in err and str(out) in err
    assert err.count("\n") == 1
    with wave.open(str(out)) as w:
        assert 1.0 < w.getnframes() / w.getframerate() < 2.0


def test_unfinished_stream_is_reported(board, capsys, tmp_path):
    # A board that stops sending without closing the stream (no close event) is not "done".
    board.gate.command({"cmd": "privacy", "action": "allow_debug", "seconds": 30})
    out = tmp_path / "rec.wav"
    orig = board.gate.tick
    n = [0]

    def tick(*a):
        n[0] += 1
        if n[0] == 40:  # the link stops carrying frames after 0.8 s
            board.link.write = lambda data: None
        return orig(*a)

    board.gate.tick = tick
    rc, so, err = _stream(board, capsys, "--seconds", "1", "-o", str(out), "--json")
    assert rc == 0
    summary = json.loads(so)
    assert summary["complete"] is False and summary["lost"] == 0
    assert "did not finish" in err
