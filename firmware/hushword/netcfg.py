"""Wi-Fi credentials for boards that forward over Wi-Fi (wifi.json, written atomically).

Credentials only let the board reach a network; they never open the privacy gate. The
password is never echoed in events or replies.
"""

import json

from hushword.config import write_atomic

PATH = "wifi.json"
MAX_LEN = 64


def load(path=PATH):
    """{"ssid", "password"} or None when missing or unreadable."""
    try:
        with open(path) as f:
            cfg = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(cfg, dict) or not _ok(cfg.get("ssid"), 1) or not _ok(cfg.get("password"), 0):
        return None
    return cfg


def save(ssid, password, path=PATH):
    if not _ok(ssid, 1):
        raise ValueError("ssid must be 1..%d characters" % MAX_LEN)
    if not _ok(password, 0):
        raise ValueError("password must be at most %d characters" % MAX_LEN)
    write_atomic(path, json.dumps({"ssid": ssid, "password": password}))


def _ok(v, min_len):
    return isinstance(v, str) and min_len <= len(v) <= MAX_LEN
