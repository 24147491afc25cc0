"""Persistent privacy configuration: one small JSON file, written atomically, read fail-closed.

Contract (DESIGN invariant 2):

* A missing, unreadable, truncated, non-JSON or wrong-typed file means mode ``never``. The
  permission fields (mode, endpoint, utterance limit) are taken all or nothing: one bad field
  (counters included) and the whole permission part falls back to the factory default. Each
  audit counter that is itself well formed is kept, so a damaged file cannot erase the record
  of audio that already left.
* ``save`` writes ``PATH.tmp``, then renames it over ``PATH``. A power cut leaves either the old
  file, the new file, or (on file systems where rename cannot replace) no file -- each of which
  loads to a safe state. A leftover ``.tmp`` is never read.
* The debug-audio permission is deliberately *not* stored: it dies with a reboot.
"""

import json
import os

MODE_NEVER = "never"
MODE_AFTER_WAKE = "after_wake"
MODES = (MODE_NEVER, MODE_AFTER_WAKE)

DEFAULT_PORT = 10700  # Wyoming satellite/wake default
DEFAULT_MAX_UTTERANCE_S = 8
MAX_UTTERANCE_S_LIMIT = 30
MAX_HOST_LEN = 253

COUNTERS = ("wyoming_bytes", "wyoming_sessions", "serial_bytes", "serial_sessions")
MAX_FILE = 4096  # a real config is ~250 bytes; refuse to parse anything huge

# Error codes reported through Store.error (the gate turns them into error events).
ERR_MISSING = "config_missing"
ERR_UNREADABLE = "config_unreadable"
ERR_CORRUPT = "config_corrupt"
ERR_INVALID = "config_invalid"
ERR_WRITE = "config_write_failed"


def defaults():
    cfg = {
        "mode": MODE_NEVER,
        "host": "",
        "port": DEFAULT_PORT,
        "max_utterance_s": DEFAULT_MAX_UTTERANCE_S,
        "counters": {},
    }
    for k in COUNTERS:
        cfg["counters"][k] = 0
    return cfg


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def valid_host(h):
    if not isinstance(h, str) or len(h) > MAX_HOST_LEN:
        return False
    # ASCII only, by explicit ranges: str.isalpha differs between CPython and MicroPython for
    # non-ASCII letters, and a host name or IP literal never needs them.
    for c in h:
        if not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in ".-_:"):
            return False
    return True


def valid_port(p):
    return _is_int(p) and 0 < p < 65536


def valid_max_utterance(s):
    return _is_int(s) and 1 <= s <= MAX_UTTERANCE_S_LIMIT


def check_permissions(obj):
    """Return an error string if the permission fields of ``obj`` are unusable, else None."""
    mode = obj.get("mode")
    if mode not in MODES or not isinstance(mode, str):
        return "mode"
    if not valid_host(obj.get("host")):
        return "host"
    if not valid_port(obj.get("port")):
        return "port"
    if not valid_max_utterance(obj.get("max_utterance_s")):
        return "max_utterance_s"
    if mode == MODE_AFTER_WAKE and not obj.get("host"):
        return "host"  # forwarding on with nowhere to send is not a state we persist
    return None


def _counters(obj):
    """Return ``(counters, ok)``. Each well-formed counter is kept, so one damaged value cannot
    erase the rest of the audit record; a damaged or missing one reads as 0 and ``ok`` is False.
    A file with no ``counters`` object at all (written by hand) is all zeros and fine."""
    out = {}
    for k in COUNTERS:
        out[k] = 0
    if "counters" not in obj:
        return out, True
    c = obj["counters"]
    if not isinstance(c, dict):
        return out, False
    ok = True
    for k in COUNTERS:
        v = c.get(k, 0)
        if _is_int(v) and v >= 0:
            out[k] = v
        else:
            ok = False
    return out, ok


def parse(data):
    """Parse file bytes into ``(cfg, error_code, detail)``; never raises, always returns a
    complete config (factory default where the file is not trustworthy). Any bad field,
    counters included, means the permission fields are the factory default: a file that is
    damaged anywhere is not trusted to say that audio may leave."""
    cfg = defaults()
    if len(data) > MAX_FILE:
        return cfg, ERR_CORRUPT, "file too large"
    try:
        obj = json.loads(data)
    except Exception:  # noqa: BLE001 - any parse failure is "corrupt": fail closed
        return cfg, ERR_CORRUPT, "not valid JSON"
    if not isinstance(obj, dict):
        return cfg, ERR_INVALID, "not an object"
    cfg["counters"], counters_ok = _counters(obj)
    bad = check_permissions(obj)
    if bad is None and not counters_ok:
        bad = "counters"
    if bad:
        return cfg, ERR_INVALID, "bad field: " + bad
    for k in ("mode", "host", "port", "max_utterance_s"):
        cfg[k] = obj[k]
    return cfg, None, None


class Store:
    """The config file. ``load()`` returns a config dict; ``error`` holds ``(code, detail)`` of
    the last load or save problem (or None) for the caller to report."""

    def __init__(self, path="config.json"):
        self.path = path
        self.error = None

    def load(self):
        self.error = None
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - open and read fail differently
        except OSError:
            self.error = (ERR_MISSING, "no config file; factory default (never)")
            return defaults()
        try:
            data = f.read(MAX_FILE + 1)
        except Exception:  # noqa: BLE001 - fail closed on any read error
            self.error = (ERR_UNREADABLE, "read failed")
            return defaults()
        finally:
            f.close()
        cfg, code, detail = parse(data)
        if code:
            self.error = (code, detail + "; mode is never")
        return cfg

    def save(self, cfg):
        """Write ``cfg`` atomically. Returns True, or False (and sets ``error``) on failure;
        the previous file stays in place then."""
        self.error = None
        try:
            write_atomic(self.path, json.dumps(cfg))
        except Exception as e:  # noqa: BLE001 - reported, previous file stays
            self.error = (ERR_WRITE, repr(e))
            return False
        return True


def write_atomic(path, data):
    """Write text to ``path`` via ``path.tmp`` + rename; raises OSError on failure.

    Paths are relative to '/', the working directory on the board (the unix port's
    VfsPosix mangles absolute paths in rename)."""
    tmp = path + ".tmp"
    f = open(tmp, "w")  # noqa: SIM115 - explicit flush before rename
    try:
        f.write(data)
        f.flush()
    finally:
        f.close()
    try:
        os.rename(tmp, path)
    except OSError:
        # FAT cannot rename over a file. Removing first opens a window in which the file is
        # missing, which loads as "never": safe.
        os.remove(path)
        os.rename(tmp, path)
