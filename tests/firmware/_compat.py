"""Helpers shared by firmware tests under CPython (pytest) and MicroPython (mpy_runner)."""

import os
import sys
import time

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    import pytest

    SkipTest = pytest.skip.Exception
except ImportError:

    class SkipTest(Exception):
        pass


def skip(reason):
    raise SkipTest(reason)


# Every file a test writes goes under one directory per run, removed at the end (pytest:
# conftest.py; MicroPython: mpy_runner.py), so runs leave nothing behind in /tmp.
TMP = "/tmp/hushword_fwtests_%d" % (time.time_ns() % 10**12)
try:
    os.mkdir(TMP)
except OSError:
    pass


def tmp_path(name):
    """A path under this run's scratch directory; any file already there is removed."""
    p = TMP + "/" + name
    for q in (p, p + ".tmp"):
        try:
            os.remove(q)
        except OSError:
            pass
    return p


def remove_tree(path=TMP):
    try:
        entries = list(os.ilistdir(path)) if hasattr(os, "ilistdir") else None
    except OSError:
        return
    if entries is None:  # CPython
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        return
    for e in entries:
        sub = path + "/" + e[0]
        if e[1] == 0x4000:  # a directory
            remove_tree(sub)
        else:
            try:
                os.remove(sub)
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass
