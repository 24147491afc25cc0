# Hushword firmware entry point: runs at boot. Ctrl-C returns to the REPL.
import sys


def _incomplete(missing):
    sys.stdout.write(
        '@hw {"ev": "error", "code": "incomplete", "msg": "firmware incomplete, missing: %s; '
        'run hushword deploy"}\r\n' % ", ".join(missing)
    )


def _check_manifest():
    # A half-deployed app must never boot silently: the deploy manifest lists every file.
    import json
    import os

    try:
        with open("hushword_manifest.json") as f:
            files = json.load(f)["files"]
    except (OSError, ValueError, KeyError):
        return []  # no manifest: a hand-copied tree; imports below report what is missing
    missing = []
    for path, meta in files.items():
        try:
            size = os.stat(path)[6]
        except OSError:
            missing.append(path)
            continue
        if isinstance(meta, dict) and size != meta.get("size", size):
            missing.append(path + " (wrong size)")
    return missing


_missing = _check_manifest()
if _missing:
    _incomplete(_missing)
else:
    try:
        from hushword import app
    except ImportError as e:
        _incomplete([str(e)])
    else:
        app.main()
