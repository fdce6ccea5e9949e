"""A learner's attempts at one lab: the score over time as an SVG chart, and file diffs."""

import difflib
from dataclasses import dataclass

from grading.models import Submission

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP, PAD_RIGHT = 640, 180, 44, 28, 12, 16


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    submission: Submission


def score_chart(attempts: list[Submission]) -> dict:
    """Coordinates for the score-over-attempts chart (percent of full marks, 0 to 100)."""
    graded = [s for s in attempts if s.status == Submission.Status.GRADED]
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    points = []
    for i, submission in enumerate(graded):
        percent = 0.0
        if submission.max_score:
            percent = 100 * (submission.score or 0) / submission.max_score
        x = PAD_LEFT + (plot_w * i / max(1, len(graded) - 1) if len(graded) > 1 else plot_w / 2)
        y = PAD_TOP + plot_h * (1 - percent / 100)
        points.append(Point(round(x, 1), round(y, 1), f"{percent:.0f}%", submission))
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "points": points,
        "polyline": " ".join(f"{p.x},{p.y}" for p in points),
        "gridlines": [
            {"y": round(PAD_TOP + plot_h * (1 - v / 100), 1), "label": f"{v}%"}
            for v in (0, 50, 100)
        ],
        "left": PAD_LEFT,
        "right": WIDTH - PAD_RIGHT,
        "bottom": HEIGHT - PAD_BOTTOM,
    }


@dataclass(frozen=True)
class FileDiff:
    name: str
    lines: list[tuple[str, str]]  # (kind, text): kind is add, del, hunk or context

    @property
    def changed(self) -> bool:
        return any(kind in ("add", "del") for kind, _ in self.lines)


def files_diff(old: dict[str, str], new: dict[str, str]) -> list[FileDiff]:
    diffs = []
    for name in sorted(set(old) | set(new)):
        before = old.get(name, "").splitlines()
        after = new.get(name, "").splitlines()
        lines = []
        for line in difflib.unified_diff(before, after, lineterm="", n=3):
            if line.startswith(("---", "+++")):
                continue
            kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "context")
            lines.append((kind, line))
        diffs.append(FileDiff(name, lines))
    return diffs
