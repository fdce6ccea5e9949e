"""Reading a track file (tracks/<slug>.toml, beside the labs folder).

A track is an ordered path through labs, each of which may name labs earlier in the
track to take first::

    title = "Tail latency and performance"
    summary = "Find where the time goes when p99 moves and p50 does not."
    position = 1          # where the catalog lists it (lowest first)
    lock = false          # true: a lab refuses submissions until its `after` are passed

    [[labs]]
    slug = "hello-sandbox"

    [[labs]]
    slug = "gc-p99-spike"
    after = ["hello-sandbox"]

Like catalog.labfiles, this knows the format and nothing of the database: `load_track`
returns a frozen TrackSpec or raises TrackFormatError naming the file and the field.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from catalog.labfiles import SLUG_RE, LabFormatError, _Fields

# A track is a path, not the catalog: a few labs to a dozen.
MAX_TRACK_LABS = 30


class TrackFormatError(LabFormatError):
    """A track file that does not follow the format; says which file and which field."""


@dataclass(frozen=True)
class TrackStep:
    lab: str  # the lab's slug
    after: tuple[str, ...]  # labs earlier in the track to pass first


@dataclass(frozen=True)
class TrackSpec:
    slug: str
    path: Path
    title: str
    summary: str
    position: int
    lock: bool
    steps: tuple[TrackStep, ...]
    content_hash: str


def tracks_dir(labs_dir: Path) -> Path:
    """Where the tracks of a labs folder live: `tracks/` beside it."""
    return labs_dir.parent / "tracks"


def discover_tracks(root: Path) -> list[Path]:
    """Every track file under root, sorted; none when there is no such folder."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*.toml") if not p.name.startswith("."))


def load_track(path: Path, labs: Collection[str]) -> TrackSpec:
    """Read and validate one track file against the slugs of the labs that loaded."""
    slug = path.stem
    if not SLUG_RE.match(slug):
        raise TrackFormatError(path, "slug", "file name must be lower-case letters, digits, '-'")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrackFormatError(path, "track", f"is not valid TOML: {exc}") from None
    top = _Fields(path, data)
    top.reject_unknown({"title", "summary", "position", "lock", "labs"})
    entries = top.get("labs", list)
    if not entries:
        raise TrackFormatError(path, "labs", "must list at least one lab")
    if len(entries) > MAX_TRACK_LABS:
        raise TrackFormatError(path, "labs", f"must list at most {MAX_TRACK_LABS} labs")
    steps: list[TrackStep] = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise TrackFormatError(path, f"labs[{index}]", "must be a table ([[labs]])")
        step = _Fields(path, entry, f"labs[{index}].")
        step.reject_unknown({"slug", "after"})
        lab = step.text("slug", max_len=63)
        if lab not in labs:
            raise step._fail("slug", f"names no lab that loaded: {lab!r}")
        earlier = [s.lab for s in steps]
        if lab in earlier:
            raise step._fail("slug", f"{lab!r} is in the track twice")
        after = step.strings("after", [])
        for name in after:
            if name not in earlier:
                raise step._fail("after", f"{name!r} is not a lab earlier in this track")
        steps.append(TrackStep(lab, after))
    return TrackSpec(
        slug=slug,
        path=path,
        title=top.text("title", max_len=120),
        summary=top.text("summary", max_len=500),
        position=top.number("position", 100, low=0, high=10_000),
        lock=top.get("lock", bool, False),
        steps=tuple(steps),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
