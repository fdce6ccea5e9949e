"""How a lab's settings become a sandbox run: image tag, limits, command, runtime."""

from collections.abc import Sequence
from typing import Protocol

from django.conf import settings

import graders


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


def resolve_image(image: str) -> str:
    """A family name ("python") means the grader image built from this checkout's files;
    anything with a ':' is an exact tag that a lab pinned."""
    return image if ":" in image else graders.image_tag(image)


def sandbox_options(lab: LabLike) -> dict:
    """Keyword arguments for graders.run() shared by grading and `labs check`."""
    scratch = {"tmpfs_mb": lab.scratch_mb, "fsize_mb": lab.scratch_mb} if lab.scratch_mb else {}
    return {
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
