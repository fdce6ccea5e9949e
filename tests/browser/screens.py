"""Where the browser tests' screenshots land, for people to look at."""

from pathlib import Path

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
