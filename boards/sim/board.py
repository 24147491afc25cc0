# Simulated board (see boards/sim/board.json). MicroPython code, run by `hushword sim`.
# The host-side simulator plays the hardware: an inherited pipe is the I2S microphone (16 kHz
# mono int16 little-endian PCM, delivered at real-time pace, so a blocking read paces the app
# like I2S DMA does), the LED is shown as an event line, the button is pressed by a serial
# command, and the network is the host's TCP stack (no Wi-Fi to bring up).
import json
import os
import sys

NAME = "sim"
CHIP = "sim"


class Mic:
    def __init__(self, fd=None):
        if fd is None:
            fd = int(os.getenv("HUSHWORD_SIM_MIC_FD") or 3)
        self._f = open(fd, "rb")

    def readinto(self, buf):
        """Fill buf (a byte-addressed buffer) with samples; blocks until they have 'arrived'.

        Returns the number of bytes read: less than len(buf) only when the simulator is gone.
        """
        mv = memoryview(buf)
        n = len(mv)
        got = 0
        while got < n:
            r = self._f.readinto(mv[got:])
            if not r:
                break
            got += r
        return got


class LED:
    def __init__(self):
        self._on = False

    def on(self):
        self._set(True)

    def off(self):
        self._set(False)

    def value(self, v=None):
        if v is None:
            return self._on
        self._set(bool(v))

    def _set(self, on):
        if on != self._on:
            self._on = on
            sys.stdout.buffer.write(
                b'@hw {"ev": "led", "on": ' + (b"true" if on else b"false") + b"}\r\n"
            )


class Button:
    """The sim's physical button: pressed by the wired-serial command {"cmd": "button"}."""

    def __init__(self):
        self._pending = False

    def press(self):
        self._pending = True

    def pressed(self):
        p = self._pending
        self._pending = False
        return p


class Board:
    def __init__(self):
        self.name = NAME
        self.chip = CHIP
        with open("board.json") as f:
            self.config = json.load(f)
        self.mic = Mic()
        self.led = LED()
        self.button = Button()
        from hushword.forward import SocketNet

        self.net = SocketNet()  # non-blocking connect: a dead endpoint never stalls the mic


def make():
    return Board()
