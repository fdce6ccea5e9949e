"""How a lab's settings become a sandbox run: image tag, limits, command, runtime, and
what its checker is given."""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from django.conf import settings

import graders
from catalog.labfiles import GRADESCOPE, checker_files
from graders.gradescope import GRADESCOPE as GRADESCOPE_DIALECT

# The file Gradescope gives every autograder beside its submission.
METADATA_FILE = "submission_metadata.json"


class LabLike(Protocol):
    """What sandbox_options reads from a lab: a catalog Lab row or a frozen LabSpec.

    Read-only properties, so that frozen dataclasses and narrower field types
    (a `str` runtime, a tuple command) satisfy it as well as model rows do."""

    @property
    def image(self) -> str: ...
    @property
    def command(self) -> Sequence[str]: ...
    @property
    def runtime(self) -> str | None: ...
    @property
    def timeout_s(self) -> int: ...
    @property
    def memory_mb(self) -> int: ...
    @property
    def cpus(self) -> float: ...
    @property
    def pids(self) -> int: ...
    @property
    def scratch_mb(self) -> int | None: ...
    @property
    def dialect(self) -> str: ...


def resolve_image(image: str) -> str:
    """A family name ("python") means the grader image built from this checkout's files;
    anything with a ':' is an exact tag that a lab pinned."""
    return image if ":" in image else graders.image_tag(image)


def sandbox_options(lab: LabLike) -> dict:
    """Keyword arguments for graders.run() shared by grading and `labs check`."""
    scratch = {"tmpfs_mb": lab.scratch_mb, "fsize_mb": lab.scratch_mb} if lab.scratch_mb else {}
    return {
        "dialect": GRADESCOPE_DIALECT if lab.dialect == GRADESCOPE else graders.NATIVE,
        "image": resolve_image(lab.image),
        "command": tuple(lab.command),
        "runtime": settings.GRADING_RUNTIME or lab.runtime or None,
        "limits": graders.Limits(
            timeout_s=min(float(lab.timeout_s), float(settings.GRADING_MAX_TIMEOUT_S)),
            memory_mb=lab.memory_mb,
            cpus=lab.cpus,
            pids=lab.pids,
            **scratch,
        ),
    }


def checker_inputs(
    lab: LabLike, path: Path, include: Sequence[str], *, metadata: dict | None = None
) -> dict[str, bytes]:
    """What a run of the lab at ``path`` is given beside the submission.

    A Downstack checker gets grader/ and its included files (catalog.labfiles). A
    Gradescope autograder's files are in its image already; it gets only Gradescope's
    submission_metadata.json, made from ``metadata`` (see gradescope_metadata)."""
    if lab.dialect == GRADESCOPE:
        return {METADATA_FILE: json.dumps(metadata or {}, indent=2).encode()}
    return checker_files(path, tuple(include))
