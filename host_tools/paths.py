"""Where the repository's firmware, boards and models live."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
BOARDS = ROOT / "boards"
MODELS = FIRMWARE / "models"


def cache_notice():
    """Training and evaluation cache under ./.cache/hushword. Run from elsewhere while the
    repository has a cache, they would silently start from nothing: say so, once."""
    here = Path(".cache", "hushword").resolve()
    repo = ROOT / ".cache" / "hushword"
    if here != repo and repo.is_dir() and not here.is_dir():
        print(
            "hushword: notice: caching in %s (the current directory); the repository's cache "
            "is %s: run from %s to reuse it" % (here, repo, ROOT),
            file=sys.stderr,
        )
    return os.fspath(here)
