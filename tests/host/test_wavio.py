"""wavio.read: the WAV layouts recorders and editors write, and clear errors for the rest."""

import struct

import numpy as np
import pytest

from host_tools import wavio
from host_tools.errors import HushwordError

EXT_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def fmt_chunk(tag, ch, rate, bits, extensible=False):
    width = (bits + 7) // 8
    body = struct.pack(
        "<HHIIHH", 0xFFFE if extensible else tag, ch, rate, rate * ch * width, ch * width, bits
    )
    if extensible:
        body += struct.pack("<HHI", 22, bits, 3) + struct.pack("<H", tag) + EXT_GUID_TAIL
    return b"fmt " + struct.pack("<I", len(body)) + body


def riff(*chunks):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def data_chunk(payload, size=None):
    n = len(payload) if size is None else size
    return b"data" + struct.pack("<I", n) + payload + (b"\0" if len(payload) & 1 else b"")


@pytest.fixture
def ramp():
    return (np.arange(1600) * 37 % 20000 - 10000).astype(np.int16)


def read(tmp_path, raw, notes=None):
    p = tmp_path / "x.wav"
    p.write_bytes(raw)
    return wavio.read(p, notice=None if notes is None else notes.append)


def test_plain_pcm16_is_returned_as_is_without_notice(tmp_path, ramp):
    notes = []
    x = read(tmp_path, riff(fmt_chunk(1, 1, 16000, 16), data_chunk(ramp.tobytes())), notes)
    assert np.array_equal(x, ramp) and notes == []


def test_float32_mono(tmp_path, ramp):
    notes = []
    f = (ramp / 32768.0).astype("<f4")
    x = read(tmp_path, riff(fmt_chunk(3, 1, 16000, 32), data_chunk(f.tobytes())), notes)
    assert np.array_equal(x, ramp)
    assert notes == ["%s: converted 32-bit float -> 16-bit" % (tmp_path / "x.wav")]


def test_float_nan_and_overrange_are_clipped(tmp_path):
    f = np.array([np.nan, 2.0, -2.0, np.inf, 0.5], "<f4")
    x = read(tmp_path, riff(fmt_chunk(3, 1, 16000, 32), data_chunk(f.tobytes())))
    assert x.tolist() == [0, 32767, -32768, 32767, 16384]


def test_extensible_24bit_stereo_48k(tmp_path, ramp):
    notes = []
    # 48 kHz stereo: left the ramp held for 3 samples, right the same; 24-bit little-endian.
    s = np.repeat(ramp.astype(np.int32) << 8, 3)
    st = np.stack([s, s], axis=1).ravel()
    b = np.stack([st & 255, (st >> 8) & 255, (st >> 16) & 255], axis=1).astype(np.uint8)
    raw = riff(fmt_chunk(1, 2, 48000, 24, extensible=True), data_chunk(b.tobytes()))
    x = read(tmp_path, raw, notes)
    assert len(x) == len(ramp)
    assert "2 channels -> mono, 48000 Hz -> 16000 Hz, 24-bit -> 16-bit" in notes[0]
    # Band-limited resampling of a sawtooth is not exact; the level and shape survive.
    assert np.corrcoef(x[50:-50], ramp[50:-50])[0, 1] > 0.9


def test_extensible_float(tmp_path, ramp):
    f = (ramp / 32768.0).astype("<f4")
    x = read(tmp_path, riff(fmt_chunk(3, 1, 16000, 32, extensible=True), data_chunk(f.tobytes())))
    assert np.array_equal(x, ramp)


def test_odd_chunks_data_first_and_streaming_size(tmp_path, ramp):
    odd = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0"  # padded to an even length
    raw = riff(odd, data_chunk(ramp.tobytes()), fmt_chunk(1, 1, 16000, 16))
    assert np.array_equal(read(tmp_path, raw), ramp)
    # A writer that could not seek back leaves 0xFFFFFFFF: the audio runs to the end.
    raw = riff(fmt_chunk(1, 1, 16000, 16), data_chunk(ramp.tobytes(), size=0xFFFFFFFF))
    assert np.array_equal(read(tmp_path, raw), ramp)


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"RIFF\0\0\0\0WAVEfmt ", "no fmt chunk"),
        (b"RF64" + b"\0" * 40, "RF64"),
        (b"OggS" + b"\0" * 40, "no RIFF/WAVE header"),
        (riff(fmt_chunk(7, 1, 8000, 8), data_chunk(b"\xff" * 100)), "mu-law WAV is not supported"),
        (riff(fmt_chunk(1, 1, 16000, 40), data_chunk(b"\0" * 100)), "40-bit PCM"),
        (riff(fmt_chunk(3, 1, 16000, 16), data_chunk(b"\0" * 100)), "16-bit float"),
        (riff(fmt_chunk(1, 0, 16000, 16), data_chunk(b"\0" * 100)), "0 channels"),
        (riff(fmt_chunk(1, 1, 16000, 16), data_chunk(b"")), "no audio"),
        (riff(fmt_chunk(1, 1, 16000, 16), data_chunk(b"\0" * 10, size=1000)), "truncated"),
    ],
)
def test_clear_errors(tmp_path, raw, message):
    with pytest.raises(HushwordError) as e:
        read(tmp_path, raw)
    assert message in str(e.value) and "x.wav" in str(e.value)
