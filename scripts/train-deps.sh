#!/bin/sh
# Debian packages for `hushword train`: the local TTS engines that synthesise training speech,
# and sox to resample and shape it. Runs as root (CI containers) or via sudo.
set -e
PKGS="espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts sox"
if command -v espeak-ng >/dev/null && command -v flite >/dev/null \
    && command -v text2wave >/dev/null && command -v sox >/dev/null \
    && [ -d /usr/share/festival/voices/english/ked_diphone ] \
    && [ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null; then
    SUDO="sudo"
else
    echo "train-deps: run as root: apt-get install -y $PKGS" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q && $SUDO apt-get install -y -q $PKGS
