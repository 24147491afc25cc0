# Hardware glue for the real ESP32 / ESP32-S3 boards (MicroPython). Everything board-specific
# (pins, mic kind, gain, LED, button) comes from the board's board.json, so every real board
# gets this same file as /board.py and differs only in its JSON (boards/<name>/board.json).
# make() -> object with .mic.readinto(buf) (int16 LE mono 16 kHz, blocking), .led, .button.
import json

import micropython
from machine import I2S, Pin

_I2S_ID = micropython.const(0)
_DMA_BYTES = micropython.const(16384)  # ~128 ms of 32-bit slots: rides out a slow frame


def _config():
    for path in ("/board.json", "board.json"):
        try:
            with open(path) as f:
                return json.load(f)
        except OSError:
            pass
    raise OSError("board.json not found next to board.py")


@micropython.viper
def _to_int16(src: ptr32, dst: ptr16, n: int, shift: int):
    # 24-bit audio left-justified in 32-bit slots -> int16 with gain, saturating.
    for i in range(n):
        v = src[i] >> shift
        if v > 32767:
            v = 32767
        elif v < -32768:
            v = -32768
        dst[i] = v


def to_int16(src, dst, n, shift):
    """Plain-Python twin of _to_int16 (same results; used where viper is missing)."""
    for i in range(n):
        v = src[i] >> shift
        dst[i] = 32767 if v > 32767 else -32768 if v < -32768 else v


class Mic:
    def __init__(self, cfg):
        p = cfg["pins"]
        self._bits = cfg["bits"]
        self._shift = 16 - cfg.get("gain_shift", 0)
        self._i2s = I2S(
            _I2S_ID,
            sck=Pin(p["sck"]),
            ws=Pin(p["ws"]),
            sd=Pin(p["sd"]),
            mode=I2S.RX,
            bits=self._bits,
            format=I2S.MONO,
            rate=cfg["sample_rate"],
            ibuf=_DMA_BYTES,
        )
        self._raw = None

    def readinto(self, buf):
        """Fill buf with int16 LE samples; blocks until the I2S DMA has them."""
        n = len(buf) // 2
        if self._bits == 16:
            return self._i2s.readinto(buf)
        if self._raw is None or len(self._raw) < n * 4:
            self._raw = bytearray(n * 4)  # once per buffer size, not per read
        mv = memoryview(self._raw)[: n * 4]
        got = 0
        while got < len(mv):
            got += self._i2s.readinto(mv[got:])
        try:
            _to_int16(mv, buf, n, self._shift)
        except NameError:
            import array

            to_int16(array.array("i", mv), memoryview(buf).cast("h"), n, self._shift)
        return n * 2


class PDMMic:
    """PDM microphone; needs a MicroPython build whose machine.I2S has a PDM_RX mode."""

    def __init__(self, cfg):
        if not hasattr(I2S, "PDM_RX"):
            raise OSError(
                "this board's PDM microphone needs MicroPython with I2S PDM_RX "
                "(stock ESP32 firmware has none); see the board's notes"
            )
        p = cfg["pins"]
        self._i2s = I2S(
            _I2S_ID,
            sck=Pin(p["ws"]),  # PDM clock
            sd=Pin(p["sd"]),
            mode=I2S.PDM_RX,
            bits=16,
            format=I2S.MONO,
            rate=cfg["sample_rate"],
            ibuf=_DMA_BYTES,
        )
        self._shift = cfg.get("gain_shift", 0)

    def readinto(self, buf):
        mv = memoryview(buf)
        got = 0
        while got < len(mv):
            got += self._i2s.readinto(mv[got:])
        if self._shift:
            _gain16(mv, len(mv) // 2, self._shift)
        return got


@micropython.viper
def _gain16(buf: ptr16, n: int, shift: int):
    for i in range(n):
        v = buf[i]
        if v > 32767:
            v -= 65536  # ptr16 reads unsigned
        v = v << shift
        if v > 32767:
            v = 32767
        elif v < -32768:
            v = -32768
        buf[i] = v


# ES7210 4-channel ADC (ESP32-S3-BOX-3). Register values follow the ES7210 datasheet and
# Espressif's esp_codec_dev driver for: slave mode, MCLK = 256 x fs, 16 kHz, 16-bit I2S
# (Philips) format, MIC1 and MIC2 on, MIC3/4 off.
_ES7210_INIT = (
    (0x00, 0xFF),  # reset
    (0x00, 0x41),
    (0x01, 0x3F),  # clocks off while configuring
    (0x09, 0x30),  # power-up timing
    (0x0A, 0x30),
    (0x23, 0x2A),  # high-pass filters
    (0x22, 0x0A),
    (0x20, 0x0A),
    (0x21, 0x2A),
    (0x08, 0x20),  # slave mode
    (0x02, 0xC1),  # MCLK divider 1, DLL on, doubler on
    (0x07, 0x20),  # OSR 32
    (0x04, 0x01),  # LRCK divider 256 (high byte)
    (0x05, 0x00),
    (0x11, 0x60),  # SDP: 16-bit, I2S format
    (0x12, 0x00),  # no TDM: MIC1 left, MIC2 right
    (0x40, 0x42),  # analog power
    (0x41, 0x70),  # MIC1/2 bias 2.87 V
    (0x42, 0x70),
    (0x47, 0x08),  # MIC1-4 low power
    (0x48, 0x08),
    (0x49, 0x08),
    (0x4A, 0x08),
    (0x4B, 0x00),  # MIC1/2 power on
    (0x4C, 0xFF),  # MIC3/4 power off
    (0x06, 0x00),  # chip power on
    (0x01, 0x34),  # clocks on (MIC3/4 clocks gated)
    (0x00, 0x71),  # start
    (0x00, 0x41),
)


class CodecMic:
    """ES7210 over I2C for control, I2S for data (stereo MIC1/MIC2; MIC1 is returned)."""

    def __init__(self, cfg):
        from machine import I2C

        if cfg.get("codec", "es7210") != "es7210":
            raise OSError("unsupported codec %s" % cfg.get("codec"))
        c = cfg["i2c"]
        i2c = I2C(0, sda=Pin(c["sda"]), scl=Pin(c["scl"]), freq=c.get("freq", 100000))
        addr = c["addr"]
        if addr not in i2c.scan():
            raise OSError("ES7210 not found at I2C address 0x%02x" % addr)
        reg = bytearray(1)
        for r, v in _ES7210_INIT:
            reg[0] = v
            i2c.writeto_mem(addr, r, reg)
        gain = min(14, max(0, cfg.get("codec_gain_db", 30) // 3))  # 3 dB steps, 0..37.5 dB
        for r in (0x43, 0x44):
            reg[0] = 0x10 | gain
            i2c.writeto_mem(addr, r, reg)
        p = cfg["pins"]
        kw = {}
        try:
            kw["mck"] = Pin(p["mck"])  # the ES7210 runs from MCLK; MicroPython >= 1.24
            self._i2s = self._open(p, cfg, kw)
        except TypeError:
            raise OSError("this MicroPython's machine.I2S has no 'mck' (need 1.24 or later)")
        self._shift = cfg.get("gain_shift", 0)
        self._stereo = None

    @staticmethod
    def _open(p, cfg, kw):
        return I2S(
            _I2S_ID,
            sck=Pin(p["sck"]),
            ws=Pin(p["ws"]),
            sd=Pin(p["sd"]),
            mode=I2S.RX,
            bits=16,
            format=I2S.STEREO,
            rate=cfg["sample_rate"],
            ibuf=_DMA_BYTES,
            **kw,
        )

    def readinto(self, buf):
        n = len(buf) // 2
        if self._stereo is None or len(self._stereo) < n * 4:
            self._stereo = bytearray(n * 4)
        mv = memoryview(self._stereo)[: n * 4]
        got = 0
        while got < len(mv):
            got += self._i2s.readinto(mv[got:])
        _left16(mv, buf, n)
        if self._shift:
            _gain16(buf, n, self._shift)
        return n * 2


@micropython.viper
def _left16(src: ptr16, dst: ptr16, n: int):
    for i in range(n):
        dst[i] = src[2 * i]


def make_mic(cfg):
    kind = cfg["kind"]
    if kind == "i2s":
        return Mic(cfg)
    if kind == "pdm":
        return PDMMic(cfg)
    if kind == "codec":
        return CodecMic(cfg)
    raise OSError("unknown mic kind %s" % kind)


class LED:
    def __init__(self, cfg):
        self._low = cfg.get("active_low", False)
        if cfg["kind"] == "neopixel":
            from neopixel import NeoPixel

            self._np = NeoPixel(Pin(cfg["pin"], Pin.OUT), 1)
            self._pin = None
        else:
            self._np = None
            self._pin = Pin(cfg["pin"], Pin.OUT)
        self.off()

    def on(self):
        self._set(True)

    def off(self):
        self._set(False)

    def _set(self, on):
        if self._np is not None:
            self._np[0] = (40, 0, 0) if on else (0, 0, 0)  # red: audio is leaving
            self._np.write()
        else:
            self._pin.value(on != self._low)


class Button:
    def __init__(self, cfg):
        self._low = cfg.get("active_low", True)
        self._pin = Pin(cfg["pin"], Pin.IN, Pin.PULL_UP if self._low else Pin.PULL_DOWN)

    def pressed(self):
        return self._pin.value() == (0 if self._low else 1)


class Net:
    """Wi-Fi station mode for forwarding. Starts joining at boot (never blocking the audio
    loop); connect() refuses until the link is up, which the gate reports as unreachable."""

    def __init__(self):
        import network
        from hushword.forward import SocketNet

        self._wlan = network.WLAN(network.STA_IF)
        self._sock = SocketNet()  # keeps the resolved endpoint address
        self.start()

    def start(self):
        from hushword import netcfg

        cfg = netcfg.load()
        if cfg is None:
            return False
        self._wlan.active(True)
        if not self._wlan.isconnected():
            self._wlan.connect(cfg["ssid"], cfg["password"])
        return True

    def status(self):
        up = self._wlan.isconnected()
        return {"connected": up, "ip": self._wlan.ifconfig()[0] if up else None}

    def _up(self):
        if not self._wlan.isconnected():
            raise OSError("Wi-Fi not connected (set it with: hushword wifi)")

    def ready(self):
        return self._wlan.isconnected()

    def needs_resolve(self, host, port):
        return self._sock.needs_resolve(host, port)

    def resolve(self, host, port):
        self._up()
        return self._sock.resolve(host, port)

    def forget(self, host, port):
        self._sock.forget(host, port)

    def connect(self, host, port):
        self._up()
        return self._sock.connect(host, port)


class Board:
    def __init__(self, cfg):
        self.name = cfg["name"]
        self.chip = cfg["chip"]
        self.config = cfg
        self.mic = make_mic(cfg["mic"])
        self.led = LED(cfg["led"]) if cfg.get("led") else None
        self.button = Button(cfg["button"]) if cfg.get("button") else None
        self.net = Net() if "net" in cfg.get("capabilities", ()) else None


def make():
    return Board(_config())
