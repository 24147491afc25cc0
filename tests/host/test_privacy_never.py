"""Property: in mode `never` (and without debug permission) no audio leaves, whatever happens.

Hypothesis drives the real gate with long random sequences of serial command lines (valid,
malformed, and every would-be permission with bad arguments), garbage bytes, wake words, VAD
flips, button presses with no endpoint configured, audio and clock jumps. A network peer on
127.0.0.1 listens the whole time. After every step: both counters are 0, the serial stream holds
no audio frame, the peer has had no connection, and nothing but event lines were written.
"""

import json
import socket

from hushword import config, protocol
from hushword.gate import Gate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HOP = 640


class Clock:
    t = 5000

    def __call__(self):
        return self.t


class Link:
    def __init__(self):
        self.raw = bytearray()

    def write(self, data):
        self.raw += bytes(data)

    def event(self, ev, **fields):
        self.raw += protocol.encode_event(ev, **fields)


class Button:
    def __init__(self):
        self.queue = []

    def pressed(self):
        return self.queue.pop(0) if self.queue else False


class LED:
    def __init__(self):
        self.ever_on = False

    def on(self):
        self.ever_on = True

    def off(self):
        pass


class CountingNet:
    """A real TCP connect to the listening peer, counted."""

    def __init__(self, port):
        self.port = port
        self.calls = 0

    def connect(self, host, port):
        self.calls += 1
        s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
        return s


class Board:
    def __init__(self, net):
        self.name = "prop"
        self.led = LED()
        self.button = Button()
        self.net = net


junk_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)

# Every way of asking for audio that must be refused in this state.
refused_commands = st.one_of(
    st.fixed_dictionaries(
        {"cmd": st.just("privacy"), "action": st.just("set"), "mode": st.just("after_wake")},
        optional={"port": junk_values, "max_utterance_s": junk_values},
    ),
    st.fixed_dictionaries(
        {
            "cmd": st.just("privacy"),
            "action": st.just("set"),
            "mode": st.just("after_wake"),
            "host": st.one_of(st.just(""), st.text(alphabet=" ;/\\\x00é", min_size=1)),
        },
        optional={"port": st.integers(1, 65535)},
    ),
    st.fixed_dictionaries(
        {
            "cmd": st.just("privacy"),
            "action": st.just("allow_debug"),
            # required: without it the default (60 s) is a valid grant
            "seconds": st.one_of(
                st.integers(-(2**33), 0),
                st.integers(601, 2**33),
                st.floats(),
                st.text(),
                st.booleans(),
                st.none(),
            ),
        }
    ),
    st.fixed_dictionaries(
        {"cmd": st.just("stream")},
        optional={
            "codec": st.sampled_from(["pcm16", "adpcm", "opus", ""]),
            "seconds": junk_values,
        },
    ),
    st.fixed_dictionaries(
        {"cmd": st.sampled_from(["privacy", "stream", "button", "info", "x"])},
        optional={
            "action": st.sampled_from(
                ["status", "set", "revoke_debug", "factory_reset", "open", "", "ALLOW_DEBUG"]
            ),
            "mode": st.one_of(st.sampled_from(["never", "NEVER", "always"]), junk_values),
            "stop": junk_values,
            "id": junk_values,
        },
    ),
)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("cmd"), refused_commands),
        st.tuples(st.just("line"), st.binary(max_size=80)),
        st.tuples(st.just("wake"), st.text(max_size=12)),
        st.tuples(st.just("vad"), st.booleans()),
        st.tuples(st.just("button"), st.booleans()),
        st.tuples(st.just("audio"), st.binary(min_size=HOP, max_size=HOP)),
        st.tuples(st.just("time"), st.integers(0, 700_000)),
    ),
    min_size=1,
    max_size=120,
)


def _assert_nothing_left(link, net, gate, peer):
    items = protocol.FrameParser().feed(bytes(link.raw))
    assert not [i for i in items if i[0] == "frame"]
    assert all(i[0] == "event" for i in items), [i for i in items if i[0] != "event"][:3]
    assert b"\xa5\x5a" not in link.raw
    st_ = gate.status()
    assert st_["forwarded_bytes"] == 0 and st_["debug_bytes"] == 0
    assert st_["forwarded_sessions"] == 0 and st_["debug_sessions"] == 0
    assert st_["mode"] == "never" and not st_["forwarding"] and not st_["streaming"]
    assert net.calls == 0
    try:
        peer.accept()
        raise AssertionError("the network peer got a connection")
    except BlockingIOError:
        pass


_peer = None


def _listening_peer():
    global _peer
    if _peer is None:
        _peer = socket.socket()
        _peer.bind(("127.0.0.1", 0))
        _peer.listen(4)
        _peer.setblocking(False)
    return _peer


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seq=steps)
def test_never_mode_leaks_nothing(tmp_path, seq):
    peer = _listening_peer()
    net = CountingNet(peer.getsockname()[1])
    link = Link()
    board = Board(net)
    clock = Clock()
    path = tmp_path / "config.json"
    path.unlink(missing_ok=True)
    gate = Gate(config.Store(str(path)), link, board, clock=clock)
    reader = protocol.LineReader()
    for kind, arg in seq:
        if kind == "cmd":
            line = protocol.encode_command(**arg) if "cmd" in arg else b""
            for obj, err in reader.feed(line):
                if obj is not None:
                    try:
                        gate.command(obj)
                    except (ValueError, TypeError):
                        pass
        elif kind == "line":
            for obj, err in reader.feed(arg + b"\n"):
                if obj is not None:
                    try:
                        gate.command(obj)
                    except (ValueError, TypeError):
                        pass
        elif kind == "wake":
            gate.wake(arg, 0.99, clock.t / 1000)
        elif kind == "vad":
            gate.vad(arg)
        elif kind == "button":
            board.button.queue.append(arg)
        elif kind == "audio":
            gate.audio(arg)
        else:
            clock.t += arg
        gate.tick()
        gate.audio(bytes(HOP))
        _assert_nothing_left(link, net, gate, peer)
    assert not board.led.ever_on
    saved = json.loads(path.read_text()) if path.exists() else config.defaults()
    assert saved["mode"] == "never"


def test_checker_detects_a_real_leak(tmp_path):
    """The property's checks are not vacuous: granted audio does trip them."""
    peer = _listening_peer()
    net = CountingNet(peer.getsockname()[1])
    link = Link()
    gate = Gate(config.Store(str(tmp_path / "c.json")), link, Board(net), clock=Clock())
    gate.command({"cmd": "privacy", "action": "allow_debug", "seconds": 5})
    gate.command({"cmd": "stream", "codec": "adpcm", "seconds": 5})
    gate.audio(bytes(HOP))
    try:
        _assert_nothing_left(link, net, gate, peer)
    except AssertionError:
        return
    raise AssertionError("a debug frame went unnoticed")


class PairNet:
    """connect() hands the device one end of a socketpair; the test plays the peer."""

    def __init__(self):
        self.peer = None

    def connect(self, host, port):
        dev, self.peer = socket.socketpair()
        self.peer.setblocking(False)
        return dev


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(talk=st.lists(st.binary(min_size=1, max_size=3000), max_size=20))
def test_network_peer_cannot_command_the_gate(tmp_path, talk):
    net = PairNet()
    link = Link()
    clock = Clock()
    path = tmp_path / "peer.json"
    path.unlink(missing_ok=True)
    gate = Gate(config.Store(str(path)), link, Board(net), clock=clock)
    gate.command({"cmd": "privacy", "action": "set", "mode": "after_wake", "host": "h"})
    gate.vad(True)
    gate.wake("hey_jarvis")
    serial_before = bytes(link.raw)
    for blob in talk + [protocol.encode_command("privacy", action="allow_debug", seconds=600)]:
        net.peer.send(blob)
        clock.t += 20
        gate.audio(bytes(HOP))
        gate.tick()
    st_ = gate.status()
    assert st_["mode"] == "after_wake" and st_["host"] == "h"
    assert st_["debug_allowed_s"] == 0 and not st_["streaming"]
    new = bytes(link.raw)[len(serial_before) :]
    assert not [i for i in protocol.FrameParser().feed(new) if i[0] != "event"]
    # The utterance still ends on the device's terms, not the peer's.
    gate.vad(False)
    for _ in range(30):
        clock.t += 20
        gate.tick()
    assert not gate.status()["forwarding"]
    net.peer.close()
