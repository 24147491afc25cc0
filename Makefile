# Hushword: `make demo` and `make test` work on a fresh machine with only Python 3.11.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test test-firmware test-firmware-mpy test-host test-dut train-deps model bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -e '.[test,bench]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/hushword demo

test: setup test-firmware-mpy
	$(PY) -m pytest -q tests/firmware tests/host tests/dut

# The firmware tests under the real MicroPython interpreter (pytest runs them under CPython).
test-firmware-mpy: setup
	$(VENV)/bin/micropython tests/firmware/mpy_runner.py

test-firmware: setup test-firmware-mpy
	$(PY) -m pytest -q tests/firmware

test-host: setup
	$(PY) -m pytest -q tests/host

test-dut: setup
	$(PY) -m pytest -q tests/dut

bench: setup
	$(VENV)/bin/hushword bench

clean:
	rm -rf $(VENV) build *.egg-info .hushword-sim
