"""Gradescope's results.json dialect: a lenient parse for labs that run a Gradescope autograder.

The native contract (graders.results) is a strict superset of what Gradescope's own
documentation describes, but autograders written for Gradescope rely on what Gradescope
accepts beyond it, and gradescope-utils' JSONTestRunner writes some of it itself:
``execution_time`` as a string, tests with only a ``status``, no top-level ``max_score``.
This parser accepts exactly those forms and returns the same ``Results`` as the native
one; everything else (size cap, UTF-8, JSON validity, repeated keys, NaN, unknown keys,
the type and length of every other field) is checked by the native contract's own code.

Scores follow Gradescope's rules, not the native ones:

- a test's score may be negative, or above its ``max_score`` (extra credit), and is kept
  as given, as is a top-level ``score`` outside 0..max_score;
- a test with neither ``score`` nor ``max_score`` is informational: 0 out of 0, its
  ``status`` kept ("passed" when it has none, as a check worth nothing has nothing to miss);
- a test with a ``max_score`` but no ``score`` scores 0, and is accepted only when a
  top-level ``score`` gives the total (Gradescope requires a score in one place or the other);
- a test with a ``score`` but no ``max_score`` is worth 0 points but keeps its score, so in
  a total made by adding up the tests its score is extra credit;
- a top-level ``score`` overrides the sum of the tests, and may stand without any test;
- a top-level ``max_score`` overrides the sum of the tests' maxima. Gradescope itself
  takes the total from the assignment's settings; a document that gives neither a total
  nor a test worth points has a ``max_score`` of 0, and the lab must supply its total.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from graders.marks import full_marks_floor
from graders.results import (
    FORMATS,
    STATUSES,
    TOP_LEVEL_KEYS,
    VISIBILITIES,
    LeaderboardEntry,
    Results,
    ResultsError,
    TestOutcome,
    _check_document,
    _choice,
    _finite,
    _load_document,
    _number,
    _raw_tests,
    _tags,
    _test_entry,
    _text,
)
from graders.sandbox import Dialect

# Gradescope's defaults for the format of every test's output and name.
TEST_FORMAT_KEYS = ("test_output_format", "test_name_format")
GRADESCOPE_TOP_LEVEL_KEYS = TOP_LEVEL_KEYS | frozenset(TEST_FORMAT_KEYS)

# A leaderboard row: its columns, and the longest name or text value of one.
MAX_LEADERBOARD_COLUMNS = 20
MAX_LEADERBOARD_TEXT = 100

# What gradescope-utils writes, format(seconds, "0.2f"): digits, maybe a decimal part.
_NUMERIC_STRING = re.compile(r"[0-9]+(\.[0-9]+)?")


def parse_gradescope_results(raw: bytes | str, *, max_bytes: int) -> Results:
    """Validate a Gradescope autograder's results.json; raise ResultsError saying what is
    wrong. The document's scores are kept as Gradescope would (see the module docstring)."""
    document = _load_document(raw, max_bytes)
    default_visibility, output = _check_document(
        document, GRADESCOPE_TOP_LEVEL_KEYS, _execution_time
    )
    formats = {key: _choice(document, key, FORMATS, "results", "text") for key in TEST_FORMAT_KEYS}
    tests = tuple(
        _parse_test(
            entry,
            index,
            default_visibility,
            "score" in document,
            output_format=formats["test_output_format"],
            name_format=formats["test_name_format"],
        )
        for index, entry in enumerate(_raw_tests(document), start=1)
    )
    if "score" not in document and not tests:
        raise ResultsError("results: score is missing and there are no tests to add up")
    if "max_score" in document:
        max_score = _number(document["max_score"], "results: max_score")
    else:
        max_score = sum(test.max_score for test in tests)
    if "score" in document:
        score = _finite(document["score"], "results: score")
    else:
        score = sum(test.score for test in tests)
    return Results(
        score=score,
        max_score=max_score,
        output=output,
        tests=tests,
        output_format=_choice(document, "output_format", FORMATS, "results", "text"),
        stdout_visibility=_choice(document, "stdout_visibility", VISIBILITIES, "results", "hidden"),
        extra_data=document.get("extra_data"),
        leaderboard=_leaderboard(document.get("leaderboard", [])),
    )


def _leaderboard(board: list[dict[str, Any]]) -> tuple[LeaderboardEntry, ...]:
    """The row's columns (their shape is checked by the native contract's code): a name,
    a number or a short text, and the order that ranks it."""
    if len(board) > MAX_LEADERBOARD_COLUMNS:
        raise ResultsError(
            f"results: leaderboard has {len(board)} entries, more than {MAX_LEADERBOARD_COLUMNS}"
        )
    entries = []
    for position, row in enumerate(board, start=1):
        where = f"results: leaderboard entry {position}"
        unknown = sorted(set(row) - {"name", "value", "order"})
        if unknown:
            raise ResultsError(f"{where}: unknown key {unknown[0]!r} (allowed: name, order, value)")
        name, value = row["name"], row["value"]
        if not name or len(name) > MAX_LEADERBOARD_TEXT:
            raise ResultsError(f"{where}: name must be 1 to {MAX_LEADERBOARD_TEXT} characters")
        if isinstance(value, str):
            if len(value) > MAX_LEADERBOARD_TEXT:
                raise ResultsError(f"{where}: value is longer than {MAX_LEADERBOARD_TEXT}")
        else:
            value = _finite(value, f"{where}: value")
        entries.append(
            LeaderboardEntry(name, value, _choice(row, "order", ("desc", "asc"), where, "desc"))
        )
    return tuple(entries)


def _execution_time(value: object, where: str) -> None:
    """A number of seconds, or the numeric string gradescope-utils writes ("0.02")."""
    if isinstance(value, str):
        if not _NUMERIC_STRING.fullmatch(value):
            raise ResultsError(
                f'{where} must be a number or a numeric string such as "0.02", '
                f"got {json.dumps(value)}"
            )
        return
    _number(value, where)


def _parse_test(
    entry: object,
    index: int,
    default_visibility: str,
    total_given: bool,
    *,
    output_format: str,
    name_format: str,
) -> TestOutcome:
    where = f"test {index}"
    test, name = _test_entry(entry, index)
    score, max_score = _points(test, where, total_given)
    # Not is_full_marks: a check worth 0 points has nothing to miss, so it passes.
    passed = score >= full_marks_floor(max_score)
    return TestOutcome(
        name=name,
        score=score,
        max_score=max_score,
        status=_choice(test, "status", STATUSES, where, "passed" if passed else "failed"),
        output=_text(test, "output", where),
        visibility=_choice(test, "visibility", VISIBILITIES, where, default_visibility),
        tags=_tags(test.get("tags", []), where),
        output_format=_choice(test, "output_format", FORMATS, where, output_format),
        name_format=_choice(test, "name_format", FORMATS, where, name_format),
    )


def _points(test: Mapping[str, Any], where: str, total_given: bool) -> tuple[float, float]:
    """A test's (score, max_score), 0 in place of either that is missing. Gradescope lets a
    test worth points leave out its score only when the top-level score decides the total;
    otherwise that test would silently add 0, so it is refused."""
    if "max_score" in test and "score" not in test and not total_given:
        raise ResultsError(
            f"{where}: score is missing, and only a top-level score may stand in for it"
        )
    max_score = _number(test["max_score"], f"{where}: max_score") if "max_score" in test else 0.0
    score = _finite(test["score"], f"{where}: score") if "score" in test else 0.0
    return score, max_score


# How a Gradescope autograder's image runs (see graders/harness/gradescope_entry.py):
# /autograder is writable and executable scratch, root keeps its home, and run_autograder
# runs as root with what `runuser`, `chmod` and `chown` need over files of other users.
# The entry program stops the autograder at the time limit itself and sends what
# results.json holds by then; the host's deadline comes GRACE_S later.
GRACE_S = 10.0
GRADESCOPE = Dialect(
    "gradescope",
    parse_gradescope_results,
    scratch={"/autograder": "mode=755,exec", "/root": "mode=700"},
    capabilities=("DAC_OVERRIDE", "FOWNER", "FSETID", "AUDIT_WRITE"),
    grace_s=GRACE_S,
    missing_image="build it with `manage.py labs build-images`",
)
