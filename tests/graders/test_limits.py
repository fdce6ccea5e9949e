"""Limits: the locked-down defaults and the validation that catches unit mistakes."""

import dataclasses

import pytest

from graders import Limits


def test_defaults_are_the_locked_down_ones() -> None:
    limits = Limits()
    assert (limits.timeout_s, limits.memory_mb, limits.cpus, limits.pids) == (30.0, 512, 1.0, 128)
    assert (limits.tmpfs_mb, limits.nofile, limits.fsize_mb) == (64, 256, 16)
    assert (limits.output_bytes, limits.result_bytes) == (1_048_576, 262_144)
    assert limits.memory_bytes == 512 * 1024 * 1024


def test_limits_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Limits().memory_mb = 4096  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timeout_s", 0, "timeout_s must be a positive number"),
        ("timeout_s", -1.5, "timeout_s must be a positive number"),
        ("timeout_s", float("nan"), "timeout_s must be a positive number"),
        ("timeout_s", float("inf"), "timeout_s must be a positive number"),
        ("timeout_s", 30_000, "timeout_s must be at most 3600"),
        ("memory_mb", 512.5, "memory_mb must be a whole number"),
        ("memory_mb", 4, "memory_mb must be at least 16"),
        ("memory_mb", 512 * 1024 * 1024, "memory_mb must be at most 16384"),
        ("cpus", 0, "cpus must be a positive number"),
        ("cpus", 64, "cpus must be at most 16"),
        ("pids", True, "pids must be a number"),
        ("pids", "128", "pids must be a number"),
        ("pids", 2, "pids must be at least 8"),
        ("tmpfs_mb", 0, "tmpfs_mb must be a positive number"),
        ("nofile", 10_000_000, "nofile must be at most 65536"),
        ("fsize_mb", -16, "fsize_mb must be a positive number"),
        ("output_bytes", 10, "output_bytes must be at least 4096"),
        ("result_bytes", 1 << 30, "result_bytes must be at most 16777216"),
    ],
)
def test_bad_limits_are_refused_naming_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Limits(**{field: value})  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_whole_numbers_are_fine_for_float_fields() -> None:
    assert Limits(timeout_s=10, cpus=2).timeout_s == 10
