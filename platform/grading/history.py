"""A learner's attempts at one lab: the score over time as an SVG chart, and file diffs."""

import difflib
from dataclasses import dataclass
from itertools import zip_longest

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
class DiffLine:
    """One line of a diff, numbered in the file or files it belongs to."""

    kind: str  # add, del or context
    old: int | None  # its number in the older file; None for an added line
    new: int | None  # its number in the newer file; None for a removed line
    text: str


@dataclass(frozen=True)
class Hunk:
    """A run of changes with their context: as one column of lines, and as rows of
    older beside newer, where a removed line faces the line that replaced it."""

    header: str
    lines: list[DiffLine]
    rows: list[tuple[DiffLine | None, DiffLine | None]]


@dataclass(frozen=True)
class FileDiff:
    name: str
    hunks: list[Hunk]

    @property
    def changed(self) -> bool:
        return bool(self.hunks)


def files_diff(old: dict[str, str], new: dict[str, str]) -> list[FileDiff]:
    """Each file of two attempts, with the hunks that turn the older into the newer."""
    return [
        FileDiff(name, file_hunks(old.get(name, ""), new.get(name, "")))
        for name in sorted(set(old) | set(new))
    ]


def file_hunks(before: str, after: str, context: int = 3) -> list[Hunk]:
    """The changes from one text to another, each line numbered in its file; none for
    texts that differ at most in a final line end."""
    old, new = _lines(before), _lines(after)
    hunks = []
    for group in difflib.SequenceMatcher(None, old, new).get_grouped_opcodes(context):
        lines: list[DiffLine] = []
        rows: list[tuple[DiffLine | None, DiffLine | None]] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                same = [
                    DiffLine("context", i + 1, j + 1, old[i])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                lines += same
                rows += [(line, line) for line in same]
                continue
            removed = [DiffLine("del", i + 1, None, old[i]) for i in range(i1, i2)]
            added = [DiffLine("add", None, j + 1, new[j]) for j in range(j1, j2)]
            lines += removed + added
            rows += list(zip_longest(removed, added))
        hunks.append(Hunk(_header(group), lines, rows))
    return hunks


def _lines(text: str) -> list[str]:
    """A file's lines as an editor numbers them: split at line ends only, not at the form
    feeds and other separators that str.splitlines also breaks at."""
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def _header(group: list[tuple[str, int, int, int, int]]) -> str:
    """The hunk's ranges as unified diffs write them, e.g. "@@ -4,7 +4,8 @@"."""
    (_, i1, _, j1, _), (_, _, i2, _, j2) = group[0], group[-1]
    return f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@"


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    # An empty range names the line after which the other side's lines go, as diff does.
    return f"{start + 1 if length else start},{length}"
