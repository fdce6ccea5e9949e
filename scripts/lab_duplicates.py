#!/usr/bin/env python3
"""How much of the labs folder is byte-identical copies of other files in it.

    scripts/lab_duplicates.py [labs-dir]     (default: the repository's labs/)

Prints the number of files and bytes, how many files repeat another file byte for byte
(every copy after the first of a group), their bytes and share of all bytes, and the
largest groups. Exits 1 when the copies are 5% of the bytes or more: a lab takes a
starter or solution file into its checker with `[grader] include`, and a variant holds
only the files it changes, so copies should not be needed.

Empty files are not counted as copies (they hold no bytes), nor is anything under
__pycache__ or a hidden folder, which the lab format ignores too. Standard library only.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LABS = Path(__file__).resolve().parent.parent / "labs"
# Copies may be at most this share of all bytes.
LIMIT = 0.05
SHOWN_GROUPS = 10


@dataclass(frozen=True)
class Group:
    """Files with the same bytes, first by path."""

    size: int
    paths: tuple[str, ...]

    @property
    def copy_bytes(self) -> int:
        return self.size * (len(self.paths) - 1)


@dataclass(frozen=True)
class Duplicates:
    files: int
    bytes: int
    groups: tuple[Group, ...]  # largest copy_bytes first

    @property
    def copy_files(self) -> int:
        return sum(len(group.paths) - 1 for group in self.groups)

    @property
    def copy_bytes(self) -> int:
        return sum(group.copy_bytes for group in self.groups)

    @property
    def share(self) -> float:
        return self.copy_bytes / self.bytes if self.bytes else 0.0


def measure(root: Path) -> Duplicates:
    by_digest: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    files = total = 0
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or "__pycache__" in parts or any(p.startswith(".") for p in parts):
            continue
        data = path.read_bytes()
        files += 1
        total += len(data)
        if not data:
            continue
        digest = hashlib.sha256(data).hexdigest()
        by_digest.setdefault(digest, []).append(path.relative_to(root).as_posix())
        sizes[digest] = len(data)
    groups = [
        Group(sizes[digest], tuple(paths)) for digest, paths in by_digest.items() if len(paths) > 1
    ]
    groups.sort(key=lambda group: (-group.copy_bytes, group.paths))
    return Duplicates(files=files, bytes=total, groups=tuple(groups))


def report(root: Path, found: Duplicates) -> str:
    lines = [
        f"{root}: {found.files:,} files, {found.bytes:,} bytes",
        f"byte-identical copies: {found.copy_files:,} files, {found.copy_bytes:,} bytes "
        f"({found.share:.1%} of all bytes; the limit is below {LIMIT:.0%})",
    ]
    if found.groups:
        lines.append("largest groups (copy bytes, then every file with those bytes):")
        for group in found.groups[:SHOWN_GROUPS]:
            lines.append(f"  {group.copy_bytes:>10,}  {len(group.paths)} x {group.size:,} bytes")
            lines += [f"              {path}" for path in group.paths]
        if len(found.groups) > SHOWN_GROUPS:
            lines.append(f"  ... and {len(found.groups) - SHOWN_GROUPS} smaller group(s)")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0] in ("-h", "--help")):
        sys.stdout.write(__doc__.strip() + "\n")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    root = Path(argv[0]) if argv else DEFAULT_LABS
    if not root.is_dir():
        sys.stderr.write(f"{root} is not a folder; pass the labs folder to measure\n")
        return 2
    found = measure(root)
    sys.stdout.write(report(root, found) + "\n")
    return 1 if found.share >= LIMIT else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
