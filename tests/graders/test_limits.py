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


# The bounds, written out: a test that read them from the module would move with a
# wrong bound instead of catching it.
UPPER = {
    "timeout_s": 3600,
    "memory_mb": 16_384,
    "cpus": 16,
    "pids": 4096,
    "tmpfs_mb": 4096,
    "nofile": 65_536,
    "fsize_mb": 4096,
    "output_bytes": 64 * 1024 * 1024,
    "result_bytes": 16 * 1024 * 1024,
}
LOWER = {"memory_mb": 16, "pids": 8, "nofile": 16, "output_bytes": 4096, "result_bytes": 1024}


@pytest.mark.parametrize(("field", "high"), sorted(UPPER.items()))
def test_each_upper_bound_is_allowed_and_one_past_it_refused(field: str, high: int) -> None:
    assert getattr(Limits(**{field: high}), field) == high  # type: ignore[arg-type]
    with pytest.raises(ValueError) as caught:
        Limits(**{field: high + 1})  # type: ignore[arg-type]
    assert str(caught.value) == f"{field} must be at most {high}, got {high + 1}"


@pytest.mark.parametrize(("field", "low"), sorted(LOWER.items()))
def test_each_lower_bound_is_allowed_and_one_below_it_refused(field: str, low: int) -> None:
    assert getattr(Limits(**{field: low}), field) == low  # type: ignore[arg-type]
    with pytest.raises(ValueError) as caught:
        Limits(**{field: low - 1})  # type: ignore[arg-type]
    assert str(caught.value) == f"{field} must be at least {low}, got {low - 1}"


def test_fields_without_a_lower_bound_take_any_positive_value() -> None:
    limits = Limits(timeout_s=0.5, cpus=0.25, tmpfs_mb=1, fsize_mb=1)
    assert (limits.timeout_s, limits.cpus, limits.tmpfs_mb, limits.fsize_mb) == (0.5, 0.25, 1, 1)


@pytest.mark.parametrize("value", [True, False, "128", None, [128]])
def test_values_that_are_not_numbers_are_refused_before_any_bound(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        Limits(pids=value)  # type: ignore[arg-type]
    assert str(caught.value) == f"pids must be a number, got {value!r}"


def test_memory_in_bytes_follows_the_megabytes() -> None:
    assert Limits(memory_mb=16).memory_bytes == 16 * 1024 * 1024
    assert Limits(memory_mb=1000).memory_bytes == 1_048_576_000
