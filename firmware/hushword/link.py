"""The wired serial link: event lines out, command lines in, never blocking the audio loop.

The board's REPL UART (or USB-CDC) is sys.stdin/sys.stdout. Input is polled with
select.poll(…, 0); at most MAX_IN_PER_POLL bytes are taken per hop so a flood of garbage can
cost the audio loop only a bounded amount of time.
"""

import json
import select
import sys

from hushword import protocol

MAX_IN_PER_POLL = 256


class Link:
    def __init__(self, stdin=None, stdout=None):
        self._in = stdin if stdin is not None else sys.stdin.buffer
        self._out = stdout if stdout is not None else sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(stdin if stdin is not None else sys.stdin, select.POLLIN)
        self._reader = protocol.LineReader()
        self._closed = False

    def write(self, data):
        """Raw bytes to the host. Audio reaches this only through the gate (invariant 1)."""
        self._out.write(data)

    def event(self, ev, **fields):
        fields["ev"] = ev
        self._out.write(protocol.PREFIX + json.dumps(fields).encode() + b"\r\n")

    def poll(self):
        """Return the (obj, error_code) results of complete command lines received so far."""
        if self._closed or not self._poll.poll(0):
            return ()  # the common case, every hop: nothing allocated
        data = bytearray()
        while len(data) < MAX_IN_PER_POLL:
            ready = self._poll.poll(0)
            if not ready:
                break
            if ready[0][1] & (select.POLLHUP | select.POLLERR) and not ready[0][1] & select.POLLIN:
                self._closed = True
                break
            b = self._in.read(1)
            if not b:
                self._closed = True  # host side gone for good: stop polling
                break
            if b == b"\x03":  # Ctrl-C that reached stdin (no UART interrupt): same meaning
                raise KeyboardInterrupt
            data.extend(b)
        if not data:
            return ()
        return self._reader.feed(data)
