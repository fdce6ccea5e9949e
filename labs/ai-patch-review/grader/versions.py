"""The versions of the relay repository the checker runs the learner's test against.

Each version is stored as only the files it changes: ``versions/<name>/`` is laid over
its base, named in ``versions.json`` (name -> base). A base is another version, or a
folder beside check.py: the reference fix is laid over ``starter/repo``, the repository
the learner was given (lab.toml includes it for the checker). The PR is the reference
with its defects put in (it keeps the pool as the learner's repository has it, where
the reference goes back to it), and every other correct or wrong fix is the reference
plus the files in which it differs. The PR reworded is the restructured correct fix with
the PR's five defects put back in other words, so that it behaves as the PR does while
sharing none of the PR's changed files.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FOLDER = HERE / "versions"
BASES: dict[str, str] = json.loads((HERE / "versions.json").read_text())


def _read_folder(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is missing: is it included in lab.toml?")
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def own_files(name: str) -> dict[str, bytes]:
    """The files a version holds itself, by path from the repository root."""
    return _read_folder(FOLDER / name)


def base_files(name: str) -> dict[str, bytes]:
    """The tree a version is laid over: its base version assembled, or the base folder."""
    base = BASES[name]
    return assemble(base) if base in BASES else _read_folder(HERE / base)


def assemble(name: str) -> dict[str, bytes]:
    """A version's whole tree, by path: its own files laid over its base's tree."""
    files = base_files(name)
    files.update(own_files(name))
    return files
