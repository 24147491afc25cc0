"""Device-under-test fixtures: pytest-embedded's serial service against the simulated board
(started here) by default, or against a real board given with --port /dev/ttyUSB0.

    pytest tests/dut                              # sim (what CI runs)
    pytest tests/dut --port /dev/ttyUSB0          # a real board running the Hushword app
"""

import json
import re
import tempfile
from pathlib import Path

import pytest

from host_tools.demo import start_sim


def _cli_port(config):
    try:
        return config.getoption("port")
    except ValueError:
        return None


@pytest.fixture(scope="session")
def sim_port(request):
    """Start the simulated board once per session (unless a real board is given)."""
    if _cli_port(request.config):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="hushword-dut-") as tmp:
        proc, port = start_sim(Path(tmp) / "fs", lead_in=0)
        yield port
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def port(request, sim_port):  # overrides pytest-embedded's: the sim unless --port is given
    return _cli_port(request.config) or sim_port


@pytest.fixture
def embedded_services(request):
    try:
        given = request.config.getoption("embedded_services")
    except ValueError:
        given = None
    return given or "serial"


@pytest.fixture
def on_sim(request):
    return not _cli_port(request.config)


class Board:
    """Commands and events over pytest-embedded's dut (its serial service owns the port)."""

    def __init__(self, dut):
        self.dut = dut
        self.n = 0

    def command(self, cmd, timeout=5, **args):
        self.n += 1
        rid = 9000 + self.n
        args.update(cmd=cmd, id=rid)
        self.dut.write(b"@hw " + json.dumps(args).encode() + b"\n")
        return self.event("reply", timeout=timeout, id=rid)

    def event(self, ev, timeout=5, **match):
        while True:
            m = self.dut.expect(re.compile(rb"@hw (\{.*?\})\r\n"), timeout=timeout)
            obj = json.loads(m.group(1))
            if obj.get("ev") == ev and all(obj.get(k) == v for k, v in match.items()):
                return obj


@pytest.fixture
def board(dut):
    b = Board(dut)
    b.command("ping", timeout=15)  # wait for the app to be up
    return b
