"""Board definitions (``boards/<name>/board.json``): loading, validation, `hushword boards`.

A board file says which chip, flash size, microphone, LED and button a board has and on which
GPIOs. Validation knows each chip's pin map, so a board that would brick on boot (a strapping
pin held the wrong way), fight the SPI flash, or drive an input-only pad is refused with one
line naming the board, the field and a fix, before anything is flashed.
"""

import json
import sys

from host_tools import paths
from host_tools.errors import HushwordError

SAMPLE_RATE = 16000
CHIP_NAMES = ("esp32", "esp32s3", "sim")
MIC_KINDS = ("i2s", "pdm", "codec", "sim")
LED_KINDS = ("gpio", "neopixel", "sim")
BUTTON_KINDS = ("gpio", "sim")
CAPABILITIES = ("mic", "led", "button", "speaker", "net", "psram", "display")
FLASH_SIZES = tuple(m << 20 for m in (2, 4, 8, 16, 32))

# Which microphone pins each kind needs. The ESP32 is always the I2S clock master, so the
# clock pins are outputs and the data pin an input.
MIC_PINS = {
    "i2s": {"sck": "out", "ws": "out", "sd": "in"},
    "pdm": {"ws": "out", "sd": "in"},  # PDM: ws carries the PDM clock
    "codec": {"sck": "out", "ws": "out", "sd": "in", "mck": "out"},
    "sim": {},
}
MCU_ARCH = {"esp32": "xtensawin", "esp32s3": "xtensawin", "sim": "x64"}


class PinMap:
    def __init__(self, valid, flash, strapping, input_only, usb=()):
        self.valid = frozenset(valid)
        self.flash = frozenset(flash)
        self.strapping = frozenset(strapping)
        self.input_only = frozenset(input_only)
        self.usb = frozenset(usb)


PINS = {
    # ESP32 (ESP32-WROOM/WROVER/PICO): GPIO 6-11 are the SPI flash; 34-39 have no output
    # driver; 0, 2, 5, 12 (flash voltage!) and 15 are sampled at reset.
    "esp32": PinMap(
        valid=[*range(0, 20), 21, 22, 23, 25, 26, 27, *range(32, 40)],
        flash=range(6, 12),
        strapping=(0, 2, 5, 12, 15),
        input_only=range(34, 40),
    ),
    # ESP32-S3: 26-32 are the SPI flash/PSRAM (33-37 too on octal-PSRAM modules, flagged
    # below); 0, 3, 45, 46 are strapping; 19/20 are the native USB used for the REPL.
    "esp32s3": PinMap(
        valid=[*range(0, 22), *range(26, 49)],
        flash=range(26, 33),
        strapping=(0, 3, 45, 46),
        input_only=(),
        usb=(19, 20),
    ),
}
SUGGEST = {"esp32": "e.g. 25, 26, 27, 32 or 33", "esp32s3": "e.g. 4-18 or 38-42"}


class BoardError(HushwordError):
    pass


def board_py(name):
    """The board.py that goes to the device as /board.py: the board's own if it has one,
    else the shared ESP32 glue that reads everything board-specific from board.json."""
    own = paths.BOARDS / name / "board.py"
    return own if own.is_file() else paths.BOARDS / "common" / "esp32_board.py"


def names():
    """Names of the boards in boards/, sorted."""
    return sorted(p.parent.name for p in paths.BOARDS.glob("*/board.json"))


def read(name):
    """The raw JSON of one board, or a one-line error."""
    path = paths.BOARDS / name / "board.json"
    if not path.is_file():
        raise BoardError(
            "no board '%s' (boards: %s)" % (name, ", ".join(names()) or "none installed")
        )
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise BoardError("board '%s': %s is not valid JSON: %s" % (name, path, e)) from None


def load(name):
    """A validated board definition; the first problem is raised as one line."""
    board = read(name)
    errors = validate(board, name)
    if errors:
        raise BoardError(errors[0])
    return board


def validate(board, name=None):
    """Every problem of one board definition, each a line naming board, field and fix."""
    name = name or board.get("name", "?")
    errs = []

    def err(field, msg):
        errs.append("board '%s': %s: %s" % (name, field, msg))

    if not isinstance(board, dict):
        return ["board '%s': board.json must hold one JSON object" % name]
    for key in ("name", "description", "chip", "flash_size", "mic", "led", "button"):
        if key not in board:
            err(key, "missing; add it to boards/%s/board.json" % name)
    if errs:
        return errs
    if board["name"] != name:
        err("name", "is '%s' but the folder is '%s'; make them equal" % (board["name"], name))
    chip = board["chip"]
    if chip not in CHIP_NAMES:
        err("chip", "'%s' is not one of %s" % (chip, ", ".join(CHIP_NAMES)))
        return errs
    if board["flash_size"] not in FLASH_SIZES:
        err(
            "flash_size",
            "must be bytes, one of %s MB" % ", ".join(str(s >> 20) for s in FLASH_SIZES),
        )
    caps = board.get("capabilities", [])
    if not isinstance(caps, list) or any(c not in CAPABILITIES for c in caps):
        err("capabilities", "must be a list drawn from %s" % ", ".join(CAPABILITIES))
        caps = []
    exceptions = {int(k): v for k, v in board.get("pin_exceptions", {}).items()}
    pinmap = PINS.get(chip)
    if chip == "esp32s3" and board.get("psram") == "octal":
        # Octal PSRAM takes GPIO 33-37 as extra data lines.
        pinmap = PinMap(
            pinmap.valid, {*pinmap.flash, *range(33, 38)}, pinmap.strapping, (), pinmap.usb
        )
    used = {}  # pin -> field, to catch one GPIO wired to two things

    def pin(field, value, direction, shareable=False):
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool):
            err(field, "must be a GPIO number or null")
            return
        if pinmap is None:
            return
        hint = SUGGEST[chip]
        if value not in pinmap.valid:
            err(field, "GPIO %d does not exist on %s; use another pin (%s)" % (value, chip, hint))
        elif value in pinmap.flash:
            err(
                field,
                "GPIO %d is wired to the SPI flash on %s; use another pin (%s)"
                % (value, chip, hint),
            )
        elif direction == "out" and value in pinmap.input_only:
            err(
                field,
                "GPIO %d is input-only on %s and cannot drive this output; use %s"
                % (value, chip, hint),
            )
        elif value in pinmap.strapping and value not in exceptions:
            err(
                field,
                "GPIO %d is a strapping pin on %s (sampled at reset); use another pin "
                "(%s) or explain in pin_exceptions why it is safe" % (value, chip, hint),
            )
        elif value in pinmap.usb and value not in exceptions:
            err(
                field,
                "GPIO %d is the native USB (REPL) on %s; use another pin (%s)"
                % (value, chip, hint),
            )
        other = used.get(value)
        if other and not (shareable and other[1]):
            err(
                field,
                "GPIO %d is already used by %s; give each signal its own pin" % (value, other[0]),
            )
        used.setdefault(value, (field, shareable))

    mic = board["mic"]
    kind = mic.get("kind") if isinstance(mic, dict) else None
    if kind not in MIC_KINDS:
        err("mic.kind", "must be one of %s" % ", ".join(MIC_KINDS))
    else:
        if (kind == "sim") != (chip == "sim"):
            err("mic.kind", "'sim' microphones belong to chip 'sim' only")
        if mic.get("sample_rate") != SAMPLE_RATE:
            err("mic.sample_rate", "must be %d (the models are trained at 16 kHz)" % SAMPLE_RATE)
        if mic.get("bits") not in (16, 24, 32):
            err("mic.bits", "must be 16, 24 or 32 (the I2S slot width)")
        shift = mic.get("gain_shift", 0)
        if not isinstance(shift, int) or not 0 <= shift <= 8:
            err("mic.gain_shift", "must be an integer 0..8 (left shift after 16-bit scaling)")
        for p, direction in MIC_PINS[kind].items():
            if p not in mic.get("pins", {}):
                err("mic.pins.%s" % p, "missing for a %s microphone" % kind)
                continue
            pin("mic.pins.%s" % p, mic["pins"][p], direction, shareable=direction == "out")
        if kind == "codec":
            i2c = mic.get("i2c") or {}
            for p in ("sda", "scl"):
                pin("mic.i2c.%s" % p, i2c.get(p), "out")
            if not isinstance(i2c.get("addr"), int):
                err("mic.i2c.addr", "the codec's 7-bit I2C address is required")
        if kind == "pdm" and "mic" in caps:
            err(
                "capabilities",
                "claims 'mic' but stock MicroPython has no PDM input on ESP32; "
                "drop 'mic' and name the firmware it needs in 'needs_firmware'",
            )
        if kind == "pdm" and not board.get("needs_firmware"):
            err(
                "needs_firmware",
                "a PDM microphone needs a MicroPython build with PDM RX; say which",
            )
    led = board["led"]
    if led is not None:
        if not isinstance(led, dict) or led.get("kind") not in LED_KINDS:
            err("led.kind", "must be one of %s (or led: null)" % ", ".join(LED_KINDS))
        else:
            pin("led.pin", led.get("pin"), "out")
    button = board["button"]
    if button is not None:
        if not isinstance(button, dict) or button.get("kind", "gpio") not in BUTTON_KINDS:
            err("button.kind", "must be one of %s (or button: null)" % ", ".join(BUTTON_KINDS))
        else:
            pin("button.pin", button.get("pin"), "in")
            if not isinstance(button.get("active_low", True), bool):
                err("button.active_low", "must be true or false")
    speaker = board.get("speaker")
    if speaker:
        for p in ("sck", "ws", "sd"):
            pin("speaker.pins.%s" % p, speaker.get("pins", {}).get(p), "out", shareable=p != "sd")
    for field, need in (("led", "led"), ("button", "button"), ("speaker", "speaker")):
        if need in caps and not board.get(field):
            err(
                "capabilities",
                "claims '%s' but %s is null; remove it or describe it" % (need, field),
            )
    for p, why in exceptions.items():
        if not isinstance(why, str) or len(why) < 10:
            err("pin_exceptions.%d" % p, "give the reason this pin is safe in a sentence")
    return errs


def check_all():
    """(name, errors) for every board in boards/."""
    out = []
    for n in names():
        try:
            out.append((n, validate(read(n), n)))
        except BoardError as e:
            out.append((n, [str(e)]))
    return out


def mpy_arch(board):
    """mpy-cross -march for the board's chip (boards may override with mpy_march)."""
    return board.get("mpy_march") or MCU_ARCH[board["chip"]]


def add_arguments(p):
    p.add_argument("names", nargs="*", metavar="BOARD", help="boards to show (default: all)")
    p.add_argument("--json", action="store_true", help="print the definitions as JSON")
    p.add_argument(
        "--check", action="store_true", help="validate; exit non-zero if any board is invalid"
    )


def run(args):
    wanted = args.names or names()
    if args.check:
        bad = 0
        report = []
        for n in wanted:
            try:
                errors = validate(read(n), n)
            except BoardError as e:
                errors = [str(e)]
            for line in errors:
                print(line, file=sys.stderr)
            bad += bool(errors)
            report.append({"board": n, "ok": not errors, "errors": errors})
            if not errors and not args.json:
                print("ok  %s" % n)
        if args.json:
            print(json.dumps(report, indent=2))
        if bad:
            raise BoardError("%d of %d board(s) invalid (see above)" % (bad, len(wanted)))
        return 0
    boards = [read(n) for n in wanted]
    if args.json:
        print(json.dumps(boards, indent=2))
        return 0
    rows = [("BOARD", "CHIP", "FLASH", "MIC", "CAPABILITIES")]
    for b in boards:
        mic = b.get("mic", {})
        rows.append(
            (
                b["name"],
                b.get("chip", "?"),
                "%dMB" % (b.get("flash_size", 0) >> 20),
                mic.get("kind", "?") + ("" if "mic" in b.get("capabilities", []) else " (*)"),
                ",".join(b.get("capabilities", [])),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if any("mic" not in b.get("capabilities", []) for b in boards):
        print("(*) microphone needs non-stock firmware; see 'hushword boards --json NAME'")
    return 0
