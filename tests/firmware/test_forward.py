"""Forwarding over real TCP on 127.0.0.1: a plain socket peer (both interpreters) and a real
Wyoming server from the ``wyoming`` package (CPython)."""

import socket
import struct
import time

from _compat import IS_MICROPYTHON, skip
from hushword import config, forward
from hushword.gate import Gate
from test_gate import Board, Clock, Link, _path, hop, wyoming_events


def _listener():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(srv, "getsockname"):
        srv.bind(socket.getaddrinfo("127.0.0.1", 0)[0][-1])
        srv.listen(1)
        return srv, srv.getsockname()[1]
    # MicroPython's unix port has no getsockname: probe a few high ports instead.
    base = 20000 + (time.ticks_ms() * 7) % 30000
    for port in range(base, base + 50):
        try:
            srv.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        except OSError:
            continue
        srv.listen(1)
        return srv, port
    skip("no free port")


def _free_port():
    srv, port = _listener()
    srv.close()
    return port


def _gate(port, max_s=8):
    link = Link()
    board = Board(net=forward.SocketNet())
    clock = Clock()
    g = Gate(config.Store(_path()), link, board, clock=clock)
    g.command(
        {"cmd": "privacy", "action": "set", "mode": "after_wake", "host": "127.0.0.1",
         "port": port, "max_utterance_s": max_s}
    )  # fmt: skip
    return g, link, board, clock


def _utterance(g, clock, hops, on_hop=None):
    g.vad(True)
    g.wake("hey_jarvis", 0.9, 3.0)
    for i in range(hops):
        clock.t += 20
        g.audio(hop(i))
        g.tick(clock.t)
        if on_hop:
            on_hop()
    g.vad(False)
    for _ in range(40):
        clock.t += 20
        g.tick(clock.t)
        if on_hop:
            on_hop()
        time.sleep(0.002)


def test_plain_socket_peer_receives_wyoming_stream():
    srv, port = _listener()
    srv.setblocking(False)
    got = bytearray()
    conn = []

    def serve():
        if not conn:
            try:
                c = srv.accept()[0]
            except OSError:
                return
            c.setblocking(False)
            c.send(b'@hw {"cmd": "privacy", "action": "allow_debug", "seconds": 600}\n')
            conn.append(c)
        while True:
            try:
                d = conn[0].recv(4096)
            except OSError:
                return
            if not d:
                return
            got.extend(d)

    g, link, _board, clock = _gate(port)
    _utterance(g, clock, 25, serve)
    for _ in range(50):
        serve()
        time.sleep(0.002)
    srv.close()
    if conn:
        conn[0].close()
    evs = wyoming_events(got)
    types = [t for t, _, _ in evs]
    assert types[0] == "detection" and types[1] == "audio-start" and types[-1] == "audio-stop"
    chunks = [p for t, _, p in evs if t == "audio-chunk"]
    assert len(chunks) >= 25
    assert chunks[:25] == [hop(i) for i in range(25)]
    st = g.status()
    assert st["forwarded_bytes"] == len(got)
    assert st["debug_allowed_s"] == 0  # the peer's "command" was discarded
    assert link.of("gate", state="close", transport="wyoming", reason="vad_end")


def test_socketnet_looks_names_up_only_when_asked():
    net = forward.SocketNet()
    assert forward.is_ip_literal("127.0.0.1") and forward.is_ip_literal("::1")
    for name in ("localhost", "wyoming.lan", "1.2.3", "1.2.3.4.5", "999a.1.1.1"):
        assert not forward.is_ip_literal(name), name
    srv, port = _listener()
    try:
        assert not net.needs_resolve("127.0.0.1", port)
        assert net.needs_resolve("localhost", port)
        try:
            net.connect("localhost", port)  # connect itself never asks DNS
            assert False, "connected to a name that was never looked up"
        except OSError as e:
            assert "not resolved" in str(e)
        net.resolve("localhost", port)
        assert not net.needs_resolve("localhost", port)
        net.connect("localhost", port).close()
        net.forget("localhost", port)
        assert net.needs_resolve("localhost", port)
    finally:
        srv.close()


def test_unreachable_endpoint_never_stalls_the_loop():
    g, link, board, clock = _gate(_free_port())
    worst = 0
    g.vad(True)
    for i in range(60):
        t0 = time.ticks_ms() if IS_MICROPYTHON else time.monotonic() * 1000
        if i == 0:
            g.wake("hey_jarvis")
        clock.t += 20
        g.audio(hop())
        g.tick(clock.t)
        t1 = time.ticks_ms() if IS_MICROPYTHON else time.monotonic() * 1000
        worst = max(worst, t1 - t0)
        time.sleep(0.001)
    ev = link.of("gate", state="close", transport="wyoming") or link.of("gate", state="refused")
    assert ev and ev[0]["reason"] == "unreachable"
    assert "connection refused" in ev[0]["detail"], ev[0]  # not the "broken pipe" that follows
    # A blocking connect would stall a hop for its whole timeout (seconds). The bound is far
    # above one hop so that a busy host's scheduler (63 ms seen once, with other work on both
    # cores) does not fail the test, and below the gate's own connect timeout (1.5 s).
    assert worst < 500, worst
    assert g.status()["forwarded_bytes"] == 0
    assert not board.led.on_


# --------------------------------------------------------------------- real Wyoming server


class WyomingSink:
    """A real wyoming AsyncTcpServer on 127.0.0.1 in a thread, recording what it receives.

    ``talk_back`` makes the handler send the device things a hostile peer might: serial
    commands, Wyoming events and a large blob.
    """

    def __init__(self, talk_back=False):
        import asyncio
        import threading

        from wyoming.event import Event
        from wyoming.server import AsyncEventHandler, AsyncTcpServer

        self.events = []
        self.done = threading.Event()
        sink = self

        class Handler(AsyncEventHandler):
            def __init__(self, reader, writer):
                super().__init__(reader, writer)
                self._greeted = False

            async def handle_event(self, event):
                if talk_back and not self._greeted:
                    self._greeted = True
                    for line in (
                        b'@hw {"cmd": "privacy", "action": "set", "mode": "after_wake"}\n',
                        b'@hw {"cmd": "privacy", "action": "allow_debug", "seconds": 600}\n',
                        b'@hw {"cmd": "stream", "codec": "pcm16", "seconds": 60}\n',
                    ):
                        self.writer.write(line)
                    await self.write_event(Event("run-pipeline", {"start_stage": "wake"}))
                    await self.write_event(Event("audio-chunk", {"rate": 1}, b"\0" * 65536))
                sink.events.append(event)
                if event.type == "audio-stop":
                    sink.done.set()
                return True

        self.loop = asyncio.new_event_loop()
        self.server = AsyncTcpServer("127.0.0.1", 0)
        ready = threading.Event()

        def main():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.server.start(Handler))
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        assert ready.wait(5)
        self.port = self.server._server.sockets[0].getsockname()[1]

    def close(self):
        import asyncio

        fut = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
        try:
            fut.result(5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def _need_wyoming():
    if IS_MICROPYTHON:
        skip("the wyoming package is CPython")
    try:
        import wyoming  # noqa: F401
    except ImportError:
        skip("wyoming not installed")


def _run_against(sink, hops):
    g, link, _board, clock = _gate(sink.port)
    _utterance(g, clock, hops)
    assert sink.done.wait(5), "server never saw audio-stop"
    return g, link


def test_real_wyoming_server_receives_detection_and_audio():
    _need_wyoming()
    from wyoming.audio import AudioChunk, AudioStart
    from wyoming.wake import Detection

    sink = WyomingSink()
    try:
        g, _link = _run_against(sink, 30)
    finally:
        sink.close()
    types = [e.type for e in sink.events]
    assert types[:2] == ["detection", "audio-start"] and types[-1] == "audio-stop"
    assert Detection.from_event(sink.events[0]).name == "hey_jarvis"
    start = AudioStart.from_event(sink.events[1])
    assert (start.rate, start.width, start.channels) == (16000, 2, 1)
    chunks = [AudioChunk.from_event(e) for e in sink.events if e.type == "audio-chunk"]
    assert [c.audio for c in chunks[:30]] == [hop(i) for i in range(30)]
    assert all(c.rate == 16000 and c.width == 2 and c.channels == 1 for c in chunks)
    assert struct.unpack_from("<h", chunks[7].audio)[0] == 7
    assert g.status()["forwarded_sessions"] == 1


def test_real_wyoming_peer_cannot_command_or_pull_audio():
    _need_wyoming()
    sink = WyomingSink(talk_back=True)
    try:
        g, link = _run_against(sink, 20)
        st = g.status()
        assert st["mode"] == "after_wake"  # unchanged: the peer's "set" went nowhere
        assert st["debug_allowed_s"] == 0 and not st["streaming"]
        assert link.wire == b""  # nothing on serial
        assert len([e for e in sink.events if e.type == "audio-chunk"]) <= 20 + 20
        # Session over: more audio goes nowhere, however long the peer keeps talking.
        n = st["forwarded_bytes"]
        for _ in range(100):
            g.audio(hop())
        assert g.status()["forwarded_bytes"] == n
    finally:
        sink.close()
