#!/bin/sh
# Debian packages for `hushword train`: the local TTS engines that synthesise training speech,
# and sox to resample and shape it. Runs as root (CI containers) or via sudo.
set -e
apt-get update && apt-get install -y espeak-ng flite festival sox
