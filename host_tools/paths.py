"""Where the repository's firmware, boards and models live."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
BOARDS = ROOT / "boards"
MODELS = FIRMWARE / "models"
