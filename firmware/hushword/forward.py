"""Wyoming client for forwarding one utterance after a wake word: outbound only, non-blocking.

Wire format (wyoming >= 1.5, as ``wyoming.event.write_event`` writes it): one JSON header line
``{"type": T, "version": V, "data_length": N, "payload_length": M}\\n``, then N bytes of JSON
data, then M bytes of payload. A session sends ``detection``, ``audio-start``, one
``audio-chunk`` per hop, ``audio-stop``.

Contracts:

* Never blocks the audio loop. Bytes go into one preallocated output buffer; ``pump()`` hands
  what the socket accepts to a non-blocking ``send``. When the buffer cannot take a whole
  audio chunk, the chunk is dropped (``dropped`` counts them) -- never queued elsewhere, never
  written to storage. Control events are small and reserved room so they always fit.
* Never reads commands from the peer. Anything the peer sends is read and discarded unparsed,
  only so that a chatty peer cannot stall the TCP connection.
* This module only frames; the gate decides whether audio may go out and is the only caller of
  ``audio_chunk`` (DESIGN invariant 1).
"""

import json

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


WYOMING_VERSION = "1.5.4"
RATE = const(16000)
WIDTH = const(2)
CHANNELS = const(1)

RX_BYTES = 256
BUF_BYTES = 8192  # about 0.25 s of audio-chunks at 16 kHz mono: rides out Wi-Fi hiccups
_BUF = BUF_BYTES
_CONTROL_ROOM = const(512)  # kept free for audio-stop so a session always ends cleanly
CONNECT_TIMEOUT_MS = 1500

# errno values that mean "not yet / try later" on a non-blocking socket.
_EAGAIN = const(11)
_EINPROGRESS = const(115)
_ENOTCONN = const(107)
_EALREADY = const(114)
_WOULD_BLOCK = (_EAGAIN, _EINPROGRESS, _ENOTCONN, _EALREADY, 119)  # 119: lwIP EINPROGRESS

OK = "ok"
CONNECTING = "connecting"
FAILED = "failed"


def encode_event(type_, data=None, payload_length=0):
    """Header line plus data bytes of one Wyoming event (payload sent separately)."""
    head = {"type": type_, "version": WYOMING_VERSION}
    body = b""
    if data:
        body = json.dumps(data).encode()
        head["data_length"] = len(body)
    if payload_length:
        head["payload_length"] = payload_length
    return json.dumps(head).encode() + b"\n" + body


def _errno(e):
    return e.args[0] if e.args else None


# Linux and lwIP share these numbers.
_ERRNO_WORDS = {
    111: "connection refused",
    104: "connection reset by the server",
    32: "connection closed by the server",
    113: "host unreachable",
    110: "timed out",
}


def _why(what, e):
    n = _errno(e)
    return "%s: %s (errno %s)" % (what, _ERRNO_WORDS.get(n, "error"), n)


class WyomingClient:
    """One outbound Wyoming session over a socket from ``net.connect(host, port)``.

    ``state`` is CONNECTING until the first byte is accepted, then OK; FAILED (with ``error``)
    after a refused/reset connection or CONNECT_TIMEOUT_MS without progress. Once FAILED, every
    call is a no-op that reports nothing sent.
    """

    def __init__(self, net, host, port, now_ms, chunk_bytes=640, buf=None, rx=None):
        # The caller may lend long-lived buffers: a session then allocates (almost) nothing,
        # so it can start even when the heap is fragmented.
        self._buf = buf if buf is not None else bytearray(_BUF)
        self._mv = memoryview(self._buf)
        self._n = 0
        self._rx = rx if rx is not None else bytearray(RX_BYTES)
        self.dropped = 0
        self.sent = 0
        self.error = None
        self.state = CONNECTING
        self._t0 = now_ms
        self._sock = None
        # Chunk header is fixed for a fixed chunk size: build it once, copy it per hop.
        self._chunk_bytes = chunk_bytes
        self._chunk_head = encode_event(
            "audio-chunk", {"rate": RATE, "width": WIDTH, "channels": CHANNELS}, chunk_bytes
        )
        try:
            sock = net.connect(host, port)
            sock.setblocking(False)
            self._sock = sock
        except Exception as e:  # noqa: BLE001 - DNS, Wi-Fi, refused: all mean unreachable
            self._fail(f"connect: {e!r}")

    def _fail(self, why):
        self.state = FAILED
        self.error = why
        self._n = 0
        self.close()

    def _put(self, data, reserve):
        n = self._n
        if n + len(data) > len(self._buf) - reserve:
            return False
        self._mv[n : n + len(data)] = data
        self._n = n + len(data)
        return True

    def control(self, type_, data=None):
        """Queue a control event (detection, audio-start, audio-stop). False if it did not fit."""
        if self.state == FAILED:
            return False
        return self._put(encode_event(type_, data), 0)

    def audio_chunk(self, pcm):
        """Queue one audio chunk. Returns len(pcm) if queued, 0 if dropped. Gate-only."""
        if self.state == FAILED:
            return 0
        head = self._chunk_head if len(pcm) == self._chunk_bytes else None
        if head is None:
            head = encode_event(
                "audio-chunk", {"rate": RATE, "width": WIDTH, "channels": CHANNELS}, len(pcm)
            )
        if self._n + len(head) + len(pcm) > len(self._buf) - _CONTROL_ROOM:
            self.dropped += 1
            return 0
        self._put(head, 0)
        self._put(pcm, 0)
        return len(pcm)

    def pending(self):
        return self._n

    def pump(self, now_ms, elapsed_ms=None):
        """Send what the socket takes without blocking; discard anything received.

        ``elapsed_ms`` is the time since the session opened (the caller computes it with its
        tick arithmetic); it drives the connect timeout.
        """
        sock = self._sock
        if sock is None or self.state == FAILED:
            return self.state
        self._drain_rx()
        if self.state == FAILED:
            return self.state
        if self._n:
            try:
                k = sock.send(self._mv[: self._n])
            except OSError as e:
                if _errno(e) in _WOULD_BLOCK:
                    k = 0
                else:
                    self._fail(_why("send", e))
                    return self.state
            if k is None:  # some ports return None when nothing was written
                k = 0
            if k:
                self.state = OK
                self.sent += k
                rest = self._n - k
                if rest:
                    self._mv[:rest] = self._mv[k : self._n]
                self._n = rest
        if self.state == CONNECTING and elapsed_ms is not None and elapsed_ms > CONNECT_TIMEOUT_MS:
            self._fail("connect timeout")
        return self.state

    def _drain_rx(self, limit=4096):
        """Read and discard up to ``limit`` received bytes (bounded work per hop)."""
        sock = self._sock
        into = getattr(sock, "recv_into", None) or getattr(sock, "readinto", None)
        if into is None:
            return
        got = 0
        while got < limit:
            try:
                k = into(self._rx)
            except OSError as e:
                if _errno(e) not in _WOULD_BLOCK and self.state != FAILED:
                    # A refused connect shows here first (and only once: the next send
                    # would just say "broken pipe").
                    self._fail(_why("connect" if self.state == CONNECTING else "receive", e))
                return
            if not k:
                return  # None: nothing there (MicroPython); 0: peer closed its side
            got += k
            # Discarded unread: the peer has no say over the device.

    def close(self):
        if self._sock is not None and self.state != FAILED:
            # Unread input makes close() send a reset, which can cost the peer our last
            # events; take what is already here first.
            self._drain_rx(65536)
        sock = self._sock
        self._sock = None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass  # already gone: nothing left to release


def is_ip_literal(host):
    """True for an IPv4 or IPv6 address: connecting to one never asks a DNS server."""
    if ":" in host:
        return True
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p or len(p) > 3 or not all("0" <= c <= "9" for c in p):
            return False
    return True


class SocketNet:
    """``net`` for ports with a plain socket module (unix port, sim; ESP32 once Wi-Fi is up):
    starts a non-blocking connect and returns at once.

    A host *name* needs a DNS lookup, which blocks (for the resolver's whole timeout when the
    server is dead). ``connect`` therefore never looks a name up: the gate calls ``resolve``
    at a quiet moment, outside any session, and ``connect`` uses that answer (an IP literal
    needs none)."""

    def __init__(self):
        self._addr = {}  # (host, port) -> address of the last successful lookup

    def ready(self):
        return True  # the host's network (the sim, the unix port) is always there

    def needs_resolve(self, host, port):
        return not is_ip_literal(host) and (host, port) not in self._addr

    def resolve(self, host, port):
        """Blocking DNS lookup; raises OSError. Keeps only the newest endpoint."""
        import socket

        addr = socket.getaddrinfo(host, port)[0][-1]
        self._addr = {(host, port): addr}
        return addr

    def forget(self, host, port):
        """After a failed session: look the name up again (the server may have moved)."""
        self._addr.pop((host, port), None)

    def connect(self, host, port):
        import socket

        if is_ip_literal(host):
            addr = socket.getaddrinfo(host, port)[0][-1]  # numeric: no DNS query
        else:
            addr = self._addr.get((host, port))
            if addr is None:
                raise OSError("host name not resolved yet")
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(addr)
        except OSError as e:
            if _errno(e) not in _WOULD_BLOCK:
                s.close()
                raise
        return s
