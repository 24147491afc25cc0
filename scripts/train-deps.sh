#!/bin/sh
# Debian packages for `hushword train`: the local TTS engines that synthesise training speech,
# and sox to resample and shape it. Runs as root (CI containers) or via sudo.
# The Czech, Finnish and Italian festival voices are more speakers, who say English with
# their accent (host_tools/train/respell.py).
set -e
PKGS="espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts sox
festvox-czech-dita festvox-czech-krb festvox-czech-machac festvox-czech-ph
festvox-suopuhe-lj festvox-suopuhe-mv festvox-italp16k festvox-itapc16k"
if command -v espeak-ng >/dev/null && command -v flite >/dev/null \
    && command -v text2wave >/dev/null && command -v sox >/dev/null \
    && [ -d /usr/share/festival/voices/english/ked_diphone ] \
    && [ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ] \
    && [ -d /usr/share/festival/voices/czech/czech_krb ] \
    && [ -d /usr/share/festival/voices/finnish/hy_fi_mv_diphone ] \
    && [ -d /usr/share/festival/voices/italian/pc_diphone ]; then
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
