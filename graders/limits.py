"""Resource limits for one grading run: the one place the locked-down defaults live."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

# Upper bounds catch unit mistakes (milliseconds for seconds, bytes for megabytes) before
# they reach Docker, and stop a lab from asking for a whole worker host.
_UPPER_BOUNDS: dict[str, float] = {
    "timeout_s": 3600.0,
    "memory_mb": 16_384,
    "cpus": 16.0,
    "pids": 4096,
    "tmpfs_mb": 4096,
    "nofile": 65_536,
    "fsize_mb": 4096,
    "output_bytes": 64 * 1024 * 1024,
    "result_bytes": 16 * 1024 * 1024,
}

# Below these a run cannot even start Python; a lab asking for less is a mistake.
_LOWER_BOUNDS: dict[str, float] = {
    "memory_mb": 16,
    "pids": 8,
    "nofile": 16,
    "output_bytes": 4096,
    "result_bytes": 1024,
}


@dataclass(frozen=True)
class Limits:
    """What one sandboxed grading run may use; every field is enforced by the sandbox."""

    timeout_s: float = 30.0
    memory_mb: int = 512
    cpus: float = 1.0
    pids: int = 128
    tmpfs_mb: int = 64
    nofile: int = 256
    fsize_mb: int = 16
    output_bytes: int = 1_048_576
    result_bytes: int = 262_144

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            # bool is an int subclass; True as a limit is always a mistake.
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{field.name} must be a number, got {value!r}")
            if field.type == "int" and not isinstance(value, int):
                raise ValueError(f"{field.name} must be a whole number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{field.name} must be a positive number, got {value!r}")
            low = _LOWER_BOUNDS.get(field.name)
            if low is not None and value < low:
                raise ValueError(f"{field.name} must be at least {_plain(low)}, got {value!r}")
            high = _UPPER_BOUNDS[field.name]
            if value > high:
                raise ValueError(f"{field.name} must be at most {_plain(high)}, got {value!r}")

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
