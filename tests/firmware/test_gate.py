"""Gate unit tests with fakes standing in for the serial link, LED, button and network.

Run under CPython (pytest) and MicroPython (mpy_runner). The end-to-end proof over the real sim
board, serial pty and a real Wyoming server is in tests/dut/.
"""

import json
import struct

from _compat import IS_MICROPYTHON, skip, tmp_path
from hushword import config, protocol
from hushword.gate import (
    DEBUG_MAX_S,
    DNS_QUIET_MS,
    DNS_RETRY_MS,
    END_HANGOVER_MS,
    NO_SPEECH_MS,
    Gate,
)

HOP = 640
_n = [0]


def _path():
    _n[0] += 1
    return tmp_path("gate_%d.json" % _n[0])


class Clock:
    def __init__(self, t=1000):
        self.t = t

    def __call__(self):
        return self.t


class Link:
    def __init__(self):
        self.wire = bytearray()  # every raw byte written (audio may only come through here)
        self.events = []

    def write(self, data):
        self.wire += bytes(data)

    def event(self, ev, **fields):
        fields["ev"] = ev
        self.events.append(fields)

    def of(self, ev, **match):
        out = []
        for e in self.events:
            if e["ev"] != ev:
                continue
            if all(e.get(k) == v for k, v in match.items()):
                out.append(e)
        return out


class LED:
    def __init__(self):
        self.on_ = False
        self.history = []

    def on(self):
        self.on_ = True
        self.history.append(True)

    def off(self):
        self.on_ = False
        self.history.append(False)


class Button:
    def __init__(self):
        self.queue = []

    def pressed(self):
        return self.queue.pop(0) if self.queue else False


class Sock:
    """Socket double: records sends, can refuse, block, or push bytes at the device."""

    def __init__(self, accept=None, error=None):
        self.sent = bytearray()
        self.accept = accept  # max bytes per send, None = all
        self.error = error
        self.inbox = []
        self.closed = False
        self.blocking = True

    def setblocking(self, flag):
        self.blocking = flag

    def send(self, data):
        if self.error:
            raise OSError(self.error)
        n = len(data) if self.accept is None else min(self.accept, len(data))
        if n == 0:
            raise OSError(11)
        self.sent += bytes(data[:n])
        return n

    def recv_into(self, buf):
        if self.inbox:
            d = self.inbox.pop(0)
            buf[: len(d)] = d
            return len(d)
        raise OSError(11)

    def close(self):
        self.closed = True


class Net:
    def __init__(self, sock=None, fail=None):
        self.sock = sock
        self.fail = fail
        self.calls = []

    def connect(self, host, port):
        self.calls.append((host, port))
        if self.fail:
            raise OSError(self.fail)
        if self.sock is None:
            self.sock = Sock()
        return self.sock


class Board:
    def __init__(self, net=None):
        self.name = "fake"
        self.led = LED()
        self.button = Button()
        self.net = net if net is not None else Net()


def make(path=None, net=None, clock=None):
    link = Link()
    board = Board(net)
    clock = clock or Clock()
    g = Gate(config.Store(path or _path()), link, board, clock=clock)
    return g, link, board, clock


def hop(v=1000):
    return struct.pack("<h", v) * (HOP // 2)


def wyoming_events(data):
    """Parse a Wyoming byte stream the way wyoming.event.read_event does."""
    out = []
    i = 0
    while i < len(data):
        j = data.index(b"\n", i)
        head = json.loads(bytes(data[i:j]))
        i = j + 1
        d = head.get("data") or {}
        n = head.get("data_length") or 0
        if n:
            d.update(json.loads(bytes(data[i : i + n])))
            i += n
        n = head.get("payload_length") or 0
        payload = bytes(data[i : i + n])
        i += n
        out.append((head["type"], d, payload))
    return out


def enable(g, host="127.0.0.1", port=10700, **kw):
    return g.command(
        dict({"cmd": "privacy", "action": "set", "mode": "after_wake", "host": host, "port": port},
             **kw)
    )  # fmt: skip


def run(g, clock, hops, ms=20):
    for _ in range(hops):
        clock.t += ms
        g.audio(hop())
        g.tick(clock.t)


# ---------------------------------------------------------------------------------------------


def test_factory_default_is_never_and_nothing_leaves():
    g, link, board, clock = make()
    assert g.status()["mode"] == "never"
    assert link.of("notice", code=config.ERR_MISSING)  # a new board is normal, not an error
    g.wake("hey_jarvis", 0.9, 1.0)
    g.vad(True)
    run(g, clock, 100)
    assert link.wire == b""
    assert board.net.calls == []
    assert board.led.history == [False]
    st = g.status()
    assert st["forwarded_bytes"] == 0 and st["debug_bytes"] == 0
    assert st["suppressed_wakes"] == 1


def test_after_wake_forwards_one_utterance_as_wyoming():
    g, link, board, clock = make()
    st = enable(g)
    assert st["mode"] == "after_wake"
    g.vad(True)
    g.wake("hey_jarvis", 0.93, 12.5)
    assert board.led.on_
    run(g, clock, 10)
    g.vad(False)
    run(g, clock, END_HANGOVER_MS // 20 + 5)
    assert not board.led.on_
    evs = wyoming_events(board.net.sock.sent)
    types = [t for t, _, _ in evs]
    assert types[:2] == ["detection", "audio-start"] and types[-1] == "audio-stop"
    assert evs[0][1]["name"] == "hey_jarvis" and evs[0][1]["timestamp"] == 12500
    assert evs[1][1] == {"rate": 16000, "width": 2, "channels": 1}
    chunks = [p for t, _, p in evs if t == "audio-chunk"]
    # audio from the wake word to VAD end + hangover, nothing after
    assert 10 <= len(chunks) <= 10 + END_HANGOVER_MS // 20 + 1
    assert all(c == hop() for c in chunks)
    assert board.net.sock.closed
    close = link.of("gate", state="close", transport="wyoming")
    assert close and close[0]["reason"] == "vad_end"
    assert close[0]["bytes"] == len(board.net.sock.sent)
    assert link.of("gate", state="open", transport="wyoming")
    st = g.status()
    assert st["forwarded_bytes"] == len(board.net.sock.sent)
    assert st["forwarded_sessions"] == 1
    assert link.wire == b""  # nothing on serial


def test_forwarding_stops_at_max_length_even_if_voice_continues():
    g, link, board, clock = make()
    enable(g, max_utterance_s=1)
    g.vad(True)
    g.wake("hey_jarvis")
    run(g, clock, 200)
    evs = wyoming_events(board.net.sock.sent)
    chunks = [t for t, _, _ in evs if t == "audio-chunk"]
    assert 49 <= len(chunks) <= 50
    assert link.of("gate", state="close", reason="max_length")
    assert not board.led.on_


def test_max_length_holds_in_audio_when_the_mic_outruns_the_clock():
    # The sim's --speed 0 feeds hops faster than real time: 8 s of audio in 1 s of clock.
    g, link, board, clock = make()
    enable(g, max_utterance_s=1)
    g.vad(True)
    g.wake("hey_jarvis")
    run(g, clock, 200, ms=2)
    chunks = [p for t, _, p in wyoming_events(board.net.sock.sent) if t == "audio-chunk"]
    assert sum(len(c) for c in chunks) == 16000 * 2  # exactly 1 s of samples, no more
    assert link.of("gate", state="close", reason="max_length")


def test_no_speech_after_wake_closes():
    g, link, board, clock = make()
    enable(g)
    g.wake("hey_jarvis")  # VAD never active
    run(g, clock, NO_SPEECH_MS // 20 + 3)
    assert link.of("gate", state="close", reason="vad_end")
    n = len(board.net.sock.sent)
    run(g, clock, 50)
    assert len(board.net.sock.sent) == n


def test_peer_bytes_are_discarded_and_change_nothing():
    sock = Sock()
    sock.inbox = [
        b'@hw {"cmd": "privacy", "action": "allow_debug", "seconds": 600}\n',
        b'{"type": "audio-start"}\n{"type":"run-pipeline"}\n',
        b'@hw {"cmd": "stream", "codec": "pcm16"}\n',
    ]
    g, link, _board, clock = make(net=Net(sock))
    enable(g)
    g.vad(True)
    g.wake("hey_jarvis")
    run(g, clock, 5)
    assert sock.inbox == []  # read ...
    assert g.status()["debug_allowed_s"] == 0  # ... and ignored
    assert not g.status()["streaming"]
    assert link.wire == b""


def test_unreachable_endpoint_reports_and_keeps_listening():
    g, link, board, clock = make(net=Net(fail=111))
    enable(g)
    g.vad(True)
    g.wake("hey_jarvis")
    assert link.of("gate", state="refused", reason="unreachable")
    assert not board.led.on_
    run(g, clock, 5)
    # refused by the peer after connect() returned
    g2, link2, board2, clock2 = make(net=Net(Sock(error=111)))
    enable(g2)
    g2.wake("hey_jarvis")
    run(g2, clock2, 5)
    close = link2.of("gate", state="close", transport="wyoming")
    assert close and close[0]["reason"] == "unreachable"
    assert not board2.led.on_
    assert g2.status()["forwarded_bytes"] == 0


def test_blocked_socket_drops_chunks_without_stalling():
    sock = Sock(accept=0)  # connect still pending: every send would block
    g, link, _board, clock = make(net=Net(sock))
    enable(g)
    g.vad(True)
    g.wake("hey_jarvis")
    run(g, clock, 40, ms=1)  # within the connect timeout
    assert link.of("forward", status="dropping")
    sock.accept = None  # connection comes up
    run(g, clock, 2, ms=1)
    evs = wyoming_events(sock.sent)  # still a well-formed stream: whole chunks only
    assert [t for t, _, _ in evs][:2] == ["detection", "audio-start"]
    g.vad(False)
    run(g, clock, 30)
    close = link.of("gate", state="close", transport="wyoming")[0]
    assert close["dropped_chunks"] > 0
    assert wyoming_events(sock.sent)[-1][0] == "audio-stop"


def test_connect_timeout():
    sock = Sock(accept=0)
    g, link, _board, clock = make(net=Net(sock))
    enable(g)
    g.vad(True)
    g.wake("hey_jarvis")
    run(g, clock, 100)
    close = link.of("gate", state="close", transport="wyoming")
    assert close and close[0]["reason"] == "unreachable"
    assert sock.closed


def test_debug_stream_needs_permission():
    g, link, _board, clock = make()
    try:
        g.command({"cmd": "stream", "codec": "adpcm", "seconds": 5})
        assert False
    except ValueError as e:
        assert "permission" in str(e)
    run(g, clock, 10)
    assert link.wire == b""


def test_debug_permission_bounds():
    g, _link, _board, _clock = make()
    for bad in (0, -1, DEBUG_MAX_S + 1, "60", 1.5, True, None):
        try:
            g.command({"cmd": "privacy", "action": "allow_debug", "seconds": bad})
            assert False, bad
        except ValueError:
            pass
    assert g.status()["debug_allowed_s"] == 0
    g.command({"cmd": "privacy", "action": "allow_debug"})
    assert g.status()["debug_allowed_s"] == 60


def _frames(wire):
    return [i for i in protocol.FrameParser().feed(bytes(wire)) if i[0] == "frame"]


def test_debug_stream_frames_and_expiry():
    for codec, kind, size in (("pcm16", protocol.KIND_PCM16, 640), ("adpcm", 1, 164)):
        g, link, board, clock = make()
        g.command({"cmd": "privacy", "action": "allow_debug", "seconds": 2})
        r = g.command({"cmd": "stream", "codec": codec, "seconds": 60})
        assert r["ms"] == 2000  # clipped to the permission
        assert board.led.on_
        run(g, clock, 50)  # 1 s
        frames = _frames(link.wire)
        assert len(frames) == 50
        assert [f[3] for f in frames] == list(range(50))
        assert frames[0][2] == protocol.FLAG_START
        assert all(f[1] == kind and len(f[4]) == size for f in frames)
        # No tick after this point: _release itself refuses once the permission has expired.
        clock.t += 1000
        n = len(link.wire)
        for _ in range(20):
            g.audio(hop())
        assert len(link.wire) == n
        g.tick(clock.t)
        assert link.of("privacy", debug="expired")
        assert link.of("gate", state="close", transport="serial", reason="debug_expired")
        assert not board.led.on_
        st = g.status()
        assert st["debug_bytes"] == len(link.wire) and st["debug_sessions"] == 1
        assert st["forwarded_bytes"] == 0


def test_stream_end_frame_and_stop():
    g, link, _board, clock = make()
    g.command({"cmd": "privacy", "action": "allow_debug", "seconds": 60})
    g.command({"cmd": "stream", "codec": "adpcm", "seconds": 1})
    run(g, clock, 60)
    frames = _frames(link.wire)
    assert frames[-1][2] == protocol.FLAG_END and frames[-1][4] == b""
    assert link.of("gate", state="close", transport="serial", reason="done")
    g.command({"cmd": "stream", "codec": "pcm16", "seconds": 10})
    run(g, clock, 3)
    assert g.command({"cmd": "stream", "stop": True}) == {"streaming": False}
    n = len(link.wire)
    run(g, clock, 3)
    assert len(link.wire) == n


def test_adpcm_stream_decodes_to_the_audio():
    from hushword import adpcm

    g, link, _board, clock = make()
    g.command({"cmd": "privacy", "action": "allow_debug", "seconds": 60})
    g.command({"cmd": "stream", "codec": "adpcm", "seconds": 1})
    run(g, clock, 10)
    frames = _frames(link.wire)
    pcm = adpcm.decode_block(frames[-1][4])
    v = struct.unpack_from("<h", pcm, len(pcm) - 2)[0]
    assert abs(v - 1000) < 50


def test_mode_survives_restart_and_factory_reset_clears():
    p = _path()
    g, _link, _board, clock = make(p)
    enable(g, host="10.0.0.2", port=10400, max_utterance_s=5)
    g.vad(True)
    g.wake("hey_jarvis")
    run(g, clock, 3)
    g.vad(False)
    run(g, clock, 30)
    fwd = g.status()["forwarded_bytes"]
    assert fwd > 0
    g2, link2, _board2, _ = make(p)  # process restart / soft reboot
    st = g2.status()
    assert (st["mode"], st["host"], st["port"], st["max_utterance_s"]) == (
        "after_wake", "10.0.0.2", 10400, 5,
    )  # fmt: skip
    assert st["forwarded_bytes"] == fwd and st["forwarded_sessions"] == 1
    assert not link2.of("error")
    st = g2.command({"cmd": "privacy", "action": "factory_reset"})
    assert st["mode"] == "never" and st["forwarded_bytes"] == 0 and st["host"] == ""
    g3, _, _, _ = make(p)
    assert g3.status()["mode"] == "never" and g3.status()["forwarded_bytes"] == 0


def test_counters_only_cleared_by_factory_reset():
    p = _path()
    g, _link, _board, clock = make(p)
    g.command({"cmd": "privacy", "action": "allow_debug", "seconds": 60})
    g.command({"cmd": "stream", "codec": "adpcm", "seconds": 1})
    run(g, clock, 60)
    n = g.status()["debug_bytes"]
    assert n > 0
    enable(g)
    g.command({"cmd": "privacy", "action": "set", "mode": "never"})
    g.command({"cmd": "privacy", "action": "revoke_debug"})
    assert make(p)[0].status()["debug_bytes"] == n


def test_bad_arguments_change_nothing():
    g, _link, _board, _clock = make()
    bad = (
        {"action": "set", "mode": "always"},
        {"action": "set", "mode": "after_wake"},  # no endpoint configured
        {"action": "set", "mode": "after_wake", "host": "h", "port": "80"},
        {"action": "set", "mode": "after_wake", "host": "h", "port": None},
        {"action": "set", "mode": "after_wake", "host": "a b", "port": 80},
        {"action": "set", "mode": "after_wake", "host": "h", "max_utterance_s": 99},
        {"action": "open_sesame"},
    )
    for b in bad:
        b["cmd"] = "privacy"
        try:
            g.command(b)
            assert False, b
        except ValueError:
            pass
    assert g.status()["mode"] == "never" and g.status()["host"] == ""
    assert g.command({"cmd": "info"}) is None


def test_set_fields_without_action_set_are_refused():
    # A status request that carries a mode is a mistake, not a status request: an ok reply
    # would let a script believe forwarding was switched off.
    g, _link, _board, _clock = make()
    enable(g)
    for b in ({"mode": "never"}, {"mode": 5}, {"action": "status", "mode": "never"},
              {"host": "10.0.0.9"}, {"port": 1}, {"max_utterance_s": 3}):  # fmt: skip
        b["cmd"] = "privacy"
        try:
            g.command(b)
            assert False, b
        except ValueError as e:
            assert "action" in str(e), b
    assert g.status()["mode"] == "after_wake" and g.status()["host"] == "127.0.0.1"
    assert g.command({"cmd": "privacy"})["mode"] == "after_wake"  # a plain status still works


def test_never_closes_open_session_and_revokes_debug():
    g, link, board, clock = make()
    enable(g)
    g.command({"cmd": "privacy", "action": "allow_debug", "seconds": 60})
    g.command({"cmd": "stream", "codec": "pcm16", "seconds": 30})
    g.vad(True)
    g.wake("hey_jarvis")
    run(g, clock, 5)
    g.command({"cmd": "privacy", "action": "set", "mode": "never"})
    run(g, clock, 5)
    n_tcp, n_ser = len(board.net.sock.sent), len(link.wire)
    run(g, clock, 20)
    assert (len(board.net.sock.sent), len(link.wire)) == (n_tcp, n_ser)
    assert link.of("gate", state="close", transport="wyoming", reason="mode_never")
    assert link.of("gate", state="close", transport="serial", reason="revoked")
    assert not board.led.on_
    assert g.status()["debug_allowed_s"] == 0


def test_button_toggles_only_to_a_known_endpoint():
    g, link, board, clock = make()
    board.button.queue = [True]
    g.tick(clock.t)
    assert g.status()["mode"] == "never"  # no endpoint: a press cannot open anything
    assert link.of("privacy", by="button", error="no endpoint set")
    g.tick(clock.t)  # released
    enable(g)
    board.button.queue = [True, True, True]  # held: one edge
    for _ in range(3):
        clock.t += 20
        g.tick(clock.t)
    assert g.status()["mode"] == "never"
    board.button.queue = [False, True]
    g.tick(clock.t)
    g.tick(clock.t)
    assert g.status()["mode"] == "after_wake"
    assert link.of("privacy", mode="after_wake", by="button")


def test_failed_save_does_not_grant():
    link = Link()
    board = Board()
    g = Gate(config.Store("/nonexistent_dir_hushword/c.json"), link, board, clock=Clock())
    try:
        enable(g)
        assert False
    except ValueError:
        pass
    assert g.status()["mode"] == "never"
    assert link.of("error", code=config.ERR_WRITE)


def test_corrupt_config_fails_closed_with_event():
    p = _path()
    with open(p, "w") as f:
        f.write('{"mode": "after_wake", "host": "10.0.0.2", "port": 10')
    g, link, board, clock = make(p)
    assert g.status()["mode"] == "never"
    assert link.of("error", code=config.ERR_CORRUPT)
    g.vad(True)
    g.wake("hey_jarvis")
    run(g, clock, 20)
    assert board.net.calls == [] and link.wire == b""


def test_only_release_hands_audio_to_a_transport():
    """Invariant 1, structurally: in the firmware, only Gate._release calls link.write or
    WyomingClient.audio_chunk, encodes debug frames, and only the gate imports forward."""
    if IS_MICROPYTHON:
        skip("uses the ast module (CPython)")
    import ast
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2] / "firmware"
    audio_calls = {"audio_chunk", "encode_block", "encode_block_py", "encode_frame"}
    offenders = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        rel = path.relative_to(root).as_posix()
        parents = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node

        def func_of(node, parents=parents):
            while node in parents:
                node = parents[node]
                if isinstance(node, ast.FunctionDef):
                    return node.name
            return None

        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                if any(n.endswith("forward") for n in names) and rel != "hushword/gate.py":
                    offenders.append((rel, "imports forward"))
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            where = func_of(node)
            in_release = rel == "hushword/gate.py" and where == "_release"
            if name in audio_calls and not in_release:
                # definitions and host-side helpers inside their own modules are fine
                if rel in ("hushword/adpcm.py", "hushword/protocol.py"):
                    continue
                offenders.append((rel, where, name))
            if rel == "hushword/gate.py" and name == "write" and not in_release:
                offenders.append((rel, where, name))
    assert offenders == []


def test_fail_closed_ends_every_session():
    g, link, _board, clock = make()
    assert g.command({"cmd": "privacy", "action": "allow_debug", "seconds": 30})
    g.command({"cmd": "stream", "codec": "pcm16", "seconds": 10})
    run(g, clock, 3)
    sent = len(link.wire)
    assert sent > 0
    g.fail_closed()
    assert len(link.wire) - sent == 12  # only the empty end-of-stream frame
    sent = len(link.wire)
    run(g, clock, 20)
    assert len(link.wire) == sent  # nothing more leaves after the failure
    assert g.status()["streaming"] is False


def _forwarding(p):
    """A gate saving to ``p`` with a Wyoming session open after a wake word."""
    g, link, board, clock = make(p)
    enable(g)
    g.vad(True)
    g.wake("hey_jarvis", 0.9, 1.0)
    return g, link, board, clock


def test_session_is_on_flash_before_audio_leaves():
    # A power cut or reset mid-utterance must not erase the record that audio left.
    p = _path()
    g, _link, board, clock = _forwarding(p)
    assert make(p)[0].status()["forwarded_sessions"] == 1  # what a reboot would read now
    run(g, clock, 5)
    assert len(board.net.sock.sent) > 0
    g2, _link2, _board2, _clock2 = make(p)
    g2.command({"cmd": "privacy", "action": "allow_debug", "seconds": 30})
    g2.command({"cmd": "stream", "codec": "pcm16", "seconds": 10})
    assert make(p)[0].status()["debug_sessions"] == 1


def test_shutdown_closes_the_session_tells_the_server_and_saves_counters():
    # What the app does when it leaves its loop (Ctrl-C): no tick() will follow.
    p = _path()
    g, link, board, clock = _forwarding(p)
    run(g, clock, 5)
    g.shutdown()
    assert board.net.sock.closed and not board.led.on_
    types = [t for t, _, _ in wyoming_events(board.net.sock.sent)]
    assert types[:2] == ["detection", "audio-start"] and types[-1] == "audio-stop"
    close = link.of("gate", state="close", transport="wyoming")
    assert close and close[0]["reason"] == "stopped"
    assert close[0]["bytes"] == len(board.net.sock.sent)
    st = make(p)[0].status()
    assert st["forwarded_bytes"] == len(board.net.sock.sent)
    assert st["forwarded_sessions"] == 1
    assert st["mode"] == "after_wake"  # the owner's choice stands
    g.shutdown()  # twice is harmless
    assert len(link.of("gate", state="close")) == 1


class DnsNet(Net):
    """A net whose host names need a (blocking) lookup first, like forward.SocketNet."""

    def __init__(self, dns_ok=True):
        super().__init__()
        self.dns_ok = dns_ok
        self.lookups = []
        self.known = set()

    up = True  # Wi-Fi joined

    def ready(self):
        return self.up

    def needs_resolve(self, host, port):
        return host[0].isalpha() and (host, port) not in self.known

    def resolve(self, host, port):
        self.lookups.append(host)
        if not self.dns_ok:
            raise OSError("dns server not answering")
        self.known.add((host, port))

    def forget(self, host, port):
        self.known.discard((host, port))


def test_host_name_is_never_looked_up_at_a_wake_word():
    net = DnsNet(dns_ok=False)
    g, link, _board, clock = make(net=net)
    enable(g, host="wyoming.lan")
    g.vad(True)
    run(g, clock, 3)  # voice in the room: no lookup now
    assert net.lookups == []
    g.wake("hey_jarvis", 0.9, 1.0)
    assert net.lookups == [] and net.calls == []  # the wake word path asks no DNS server
    refused = link.of("gate", state="refused", reason="unresolved")
    assert refused and refused[0]["host"] == "wyoming.lan"
    g.vad(False)
    run(g, clock, DNS_QUIET_MS // 20 - 2)  # the command that follows a wake word: no lookup
    assert net.lookups == []
    run(g, clock, 3)
    assert net.lookups == ["wyoming.lan"]
    assert link.of("error", code="dns")
    g.wake("hey_jarvis", 0.9, 1.5)  # refused again, now saying why
    assert "dns server not answering" in link.of("gate", reason="unresolved")[-1]["detail"]
    # Backoff: 30 s, then 60 s between tries, not one per hop.
    run(g, clock, DNS_RETRY_MS // 20 - 2)
    assert len(net.lookups) == 1
    run(g, clock, 3)
    assert len(net.lookups) == 2
    run(g, clock, 2 * DNS_RETRY_MS // 20 - 3)
    assert len(net.lookups) == 2
    run(g, clock, 3)
    assert len(net.lookups) == 3
    # The server answers again; setting the endpoint retries at once.
    net.dns_ok = True
    enable(g, host="wyoming.lan")
    run(g, clock, 1)
    assert len(net.lookups) == 4 and link.of("notice")
    g.vad(True)
    g.wake("hey_jarvis", 0.9, 2.0)
    assert net.calls == [("wyoming.lan", 10700)]
    assert link.of("gate", state="open", transport="wyoming")


def test_no_lookup_and_no_backoff_while_wifi_is_joining():
    net = DnsNet()
    net.up = False
    g, link, _board, clock = make(net=net)
    enable(g, host="wyoming.lan")
    run(g, clock, 3 * DNS_QUIET_MS // 20)
    assert net.lookups == [] and not link.of("error", code="dns")
    net.up = True  # joined: looked up at the next quiet moment, not after a backoff
    run(g, clock, 1)
    assert net.lookups == ["wyoming.lan"]


def test_no_lookup_while_forwarding_is_off_or_for_ip_literals():
    net = DnsNet()
    g, _link, _board, clock = make(net=net)
    run(g, clock, DNS_QUIET_MS // 20 + 5)
    assert net.lookups == []  # mode never: the endpoint is nobody's business
    enable(g, host="10.0.0.5")
    run(g, clock, DNS_QUIET_MS // 20 + 5)
    assert net.lookups == []
    enable(g, host="wyoming.lan")
    run(g, clock, DNS_QUIET_MS // 20 + 5)
    assert net.lookups == ["wyoming.lan"]  # the same quiet time, with a name: looked up once


def test_listening_hops_allocate_nothing():
    # audio() and tick() run every 20 ms: with forwarding on and no session open (the board's
    # usual state) they must not allocate, whatever the endpoint looks like.
    if not IS_MICROPYTHON:
        skip("allocation is measured with micropython.heap_lock under MicroPython")
    import micropython

    from hushword import forward

    for host, net in (("192.168.1.20", forward.SocketNet()), ("wyoming.lan", DnsNet())):
        g, _link, _board, clock = make(net=net)
        enable(g, host=host)
        h = hop()
        run(g, clock, DNS_QUIET_MS // 20 + 5)  # settle: the name is looked up here
        micropython.heap_lock()  # any allocation now raises MemoryError
        try:
            for _ in range(100):
                clock.t += 20
                g.audio(h)
                g.tick(clock.t)
        finally:
            micropython.heap_unlock()
