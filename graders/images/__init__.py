"""Grader images: their Dockerfiles, the content tag that names each build, and the builder.

An image family is a directory here holding a Dockerfile (``python/``). Its build context
is that directory plus the in-container harness library, and the image is tagged with a
hash of exactly those files, so a lab can pin the grader it was checked against.

A family may instead hold a ``family.toml`` that builds another family's Dockerfile on a
base with more Debian packages (``python-etcd/``: the python grader plus etcd)::

    like = "python"                               # whose Dockerfile and files to build
    debian_packages = ["etcd-server", "etcd-client"]

The packages go into the debootstrapped base, because image builds have no network.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

IMAGES_DIR = Path(__file__).resolve().parent
HARNESS_FILE = IMAGES_DIR.parent / "harness" / "downstack_harness.py"
REPOSITORY_PREFIX = "downstack/grader-"
_FAMILY_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
FAMILY_FILE = "family.toml"


@dataclass(frozen=True)
class Family:
    """A grader image family: the directory whose Dockerfile it builds, and the Debian
    packages its base needs beyond the common ones."""

    name: str
    build_dir: Path
    debian_packages: tuple[str, ...] = ()


def families() -> list[str]:
    """Every family defined here, in name order."""
    return sorted(
        p.name
        for p in IMAGES_DIR.iterdir()
        if (p / "Dockerfile").is_file() or (p / FAMILY_FILE).is_file()
    )


def family(name: str) -> Family:
    """A family by name; ValueError for an unknown or malformed one."""
    if not _FAMILY_NAME.fullmatch(name) or name not in families():
        raise ValueError(f"unknown grader image family {name!r}; known: {', '.join(families())}")
    root = IMAGES_DIR / name
    if (root / "Dockerfile").is_file():
        return Family(name, root)
    spec = tomllib.loads((root / FAMILY_FILE).read_text())
    like, packages = spec.get("like"), spec.get("debian_packages", [])
    if set(spec) - {"like", "debian_packages"}:
        raise ValueError(f"{name}/{FAMILY_FILE}: only `like` and `debian_packages` are known")
    if not isinstance(like, str) or not (IMAGES_DIR / like / "Dockerfile").is_file():
        raise ValueError(f"{name}/{FAMILY_FILE}: `like` must name a family with a Dockerfile")
    if not isinstance(packages, list) or not all(
        isinstance(p, str) and _DEBIAN_PACKAGE.fullmatch(p) for p in packages
    ):
        raise ValueError(f"{name}/{FAMILY_FILE}: `debian_packages` must be Debian package names")
    return Family(name, IMAGES_DIR / like, tuple(packages))


def family_dir(name: str) -> Path:
    """The directory holding the Dockerfile a family builds; ValueError for an unknown one."""
    return family(name).build_dir


def context_files(name: str = "python") -> dict[str, bytes]:
    """The build context of a family: relative name -> bytes, exactly what gets hashed.

    A family built like another carries its family.toml too, so its packages are part of
    its tag and the two families never share one.
    """
    spec = family(name)
    files = {
        path.relative_to(spec.build_dir).as_posix(): path.read_bytes()
        for path in sorted(spec.build_dir.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    files[HARNESS_FILE.name] = HARNESS_FILE.read_bytes()
    if spec.build_dir.name != name:
        files[FAMILY_FILE] = (IMAGES_DIR / name / FAMILY_FILE).read_bytes()
    return files


def repository(name: str = "python") -> str:
    return REPOSITORY_PREFIX + name


def image_tag(name: str = "python") -> str:
    """The content tag of a family's image, e.g. ``downstack/grader-python:3f2a9c0b1d4e``."""
    digest = hashlib.sha256()
    for name_in_context, data in sorted(context_files(name).items()):
        # Length-prefixed so that moving bytes between a name and a body changes the hash.
        digest.update(f"{len(name_in_context)}:{name_in_context}:{len(data)}:".encode())
        digest.update(data)
    return f"{repository(name)}:{digest.hexdigest()[:12]}"
