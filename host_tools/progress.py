"""A plain stderr progress bar (no extra dependency); quiet when stderr is not a terminal
unless asked, so logs stay readable."""

import sys
import time


class Progress:
    def __init__(self, total, label, unit="", stream=None, force=False):
        self.total, self.label, self.unit = total, label, unit
        self.t0, self.last, self.done = time.monotonic(), 0.0, 0
        self.stream = stream or sys.stderr
        self.live = force or self.stream.isatty()

    def update(self, done=None, note=""):
        self.done = self.done + 1 if done is None else done
        now = time.monotonic()
        if not self.live or (now - self.last < 0.1 and self.done < self.total):
            return
        self.last = now
        frac = self.done / max(1, self.total)
        bar = "#" * int(30 * frac)
        self.stream.write(
            "\r%-14s [%-30s] %3d%% %s%s " % (self.label, bar, 100 * frac, note, " " * 10)
        )
        self.stream.flush()

    def close(self, summary=""):
        if self.live:
            self.stream.write("\r" + " " * 79 + "\r")
        if summary:
            self.stream.write(summary + "\n")
        self.stream.flush()
