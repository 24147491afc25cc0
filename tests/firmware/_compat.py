"""Helpers shared by firmware tests under CPython (pytest) and MicroPython (mpy_runner)."""

import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    import pytest

    SkipTest = pytest.skip.Exception
except ImportError:

    class SkipTest(Exception):
        pass


def skip(reason):
    raise SkipTest(reason)
