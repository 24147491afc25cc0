"""Shared fixtures of the host tests."""

import importlib.util

import pytest

from host_tools.paths import ROOT


@pytest.fixture
def script():
    """Loads scripts/NAME.py as a module: script("voice_check").main([...])."""

    def load(name):
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / (name + ".py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load
