"""Grader images: their Dockerfiles, the content tag that names each build, and the builder.

An image family is a directory here holding a Dockerfile (``python/``). Its build context
is that directory plus the in-container harness library, and the image is tagged with a
hash of exactly those files, so a lab can pin the grader it was checked against.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

IMAGES_DIR = Path(__file__).resolve().parent
HARNESS_FILE = IMAGES_DIR.parent / "harness" / "downstack_harness.py"
REPOSITORY_PREFIX = "downstack/grader-"
_FAMILY_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


def family_dir(family: str) -> Path:
    """The directory holding a family's Dockerfile; ValueError for an unknown family."""
    if not _FAMILY_NAME.fullmatch(family) or not (IMAGES_DIR / family / "Dockerfile").is_file():
        known = sorted(p.parent.name for p in IMAGES_DIR.glob("*/Dockerfile"))
        raise ValueError(f"unknown grader image family {family!r}; known: {', '.join(known)}")
    return IMAGES_DIR / family


def context_files(family: str = "python") -> dict[str, bytes]:
    """The build context of a family: relative name -> bytes, exactly what gets hashed."""
    root = family_dir(family)
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    files[HARNESS_FILE.name] = HARNESS_FILE.read_bytes()
    return files


def repository(family: str = "python") -> str:
    return REPOSITORY_PREFIX + family


def image_tag(family: str = "python") -> str:
    """The content tag of a family's image, e.g. ``downstack/grader-python:3f2a9c0b1d4e``."""
    digest = hashlib.sha256()
    for name, data in sorted(context_files(family).items()):
        # Length-prefixed so that moving bytes between a name and a body changes the hash.
        digest.update(f"{len(name)}:{name}:{len(data)}:".encode())
        digest.update(data)
    return f"{repository(family)}:{digest.hexdigest()[:12]}"
