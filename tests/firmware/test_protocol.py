from hushword import protocol as p


def test_event_line_roundtrip():
    line = p.encode_event("wake", label="hey_jarvis", score=0.5, t=1.25)
    assert line.startswith(b"@hw ") and line.endswith(b"\r\n")
    items = p.FrameParser().feed(line)
    assert items == [("event", {"ev": "wake", "label": "hey_jarvis", "score": 0.5, "t": 1.25})]


def test_command_lines_and_bad_input():
    r = p.LineReader()
    got = r.feed(p.encode_command("info", id=7) + b"garbage\n" + b"@hw {bad\n" + b"@hw [1]\n")
    assert got[0] == ({"cmd": "info", "id": 7}, None)
    assert [e for _, e in got[1:]] == [p.ERR_NO_PREFIX, p.ERR_BAD_JSON, p.ERR_BAD_JSON]


def test_overlong_line_reported_once_then_recovers():
    r = p.LineReader()
    got = r.feed(b"x" * (p.MAX_LINE * 3) + b"\n" + p.encode_command("ping"))
    assert got == [(None, p.ERR_TOO_LONG), ({"cmd": "ping"}, None)]


def test_line_reader_any_chunking():
    data = p.encode_command("ping", id=1) * 3
    r = p.LineReader()
    got = []
    for i in range(len(data)):
        got += r.feed(data[i : i + 1])
    assert got == [({"cmd": "ping", "id": 1}, None)] * 3


def test_frame_roundtrip_and_crc_rejects_corruption():
    payload = bytes(range(256)) * 2
    f = p.encode_frame(p.KIND_PCM16, 65537, payload, p.FLAG_START)
    parser = p.FrameParser()
    assert parser.feed(b">>> text\r\n" + f) == [
        ("text", b">>> text"),
        ("frame", p.KIND_PCM16, p.FLAG_START, 1, payload),
    ]
    bad = bytearray(f)
    bad[20] ^= 0xFF
    parser = p.FrameParser()
    items = parser.feed(bytes(bad) + p.encode_event("x"))
    assert not [i for i in items if i[0] == "frame"]
    assert parser.corrupt >= 1
    assert ("event", {"ev": "x"}) in items


def test_frames_split_across_feeds():
    f = p.encode_frame(p.KIND_ADPCM, 3, b"\x01\x02\x03")
    parser = p.FrameParser()
    out = []
    for i in range(len(f)):
        out += parser.feed(f[i : i + 1])
    assert out == [("frame", p.KIND_ADPCM, 0, 3, b"\x01\x02\x03")]
