"""The results contract: strict validation of the JSON document a checker emits.

The document is a superset of Gradescope's ``results.json``, so existing autograders can
be brought over. Validation is strict because the document comes from lab code running
next to untrusted code: unknown keys, out-of-range scores and oversized text are errors
with a message that names the exact problem, never silently repaired.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graders.marks import full_marks_floor, score_tolerance

MAX_TESTS = 500
MAX_NAME_CHARS = 200
MAX_OUTPUT_BYTES = 64 * 1024
MAX_TAGS = 20
MAX_TAG_CHARS = 100
# A progress record (one streamed check, or the name of the check now running) is small:
# the harness sends at most this much of a check's output while the run goes on.
MAX_PROGRESS_RECORD_BYTES = 16 * 1024
# Progress records a run may stream: a check record per test, and as many "running" ones.
MAX_PROGRESS_RECORDS = 2 * MAX_TESTS

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
STATUSES = ("passed", "failed")
FORMATS = ("text", "html", "simple_format", "md", "ansi")

TOP_LEVEL_KEYS = frozenset(
    {
        "score",
        "max_score",
        "output",
        "output_format",
        "tests",
        "execution_time",
        "visibility",
        "stdout_visibility",
        "extra_data",
        "leaderboard",
    }
)
TEST_KEYS = frozenset(
    {
        "name",
        "name_format",
        "number",
        "score",
        "max_score",
        "status",
        "output",
        "output_format",
        "visibility",
        "tags",
        "extra_data",
    }
)


class ResultsError(ValueError):
    """The results document breaks the contract; the message names the problem."""


@dataclass(frozen=True)
class TestOutcome:
    """One check as the learner will see it (subject to ``visibility``)."""

    __test__ = False  # a results type, not a pytest test class

    name: str
    score: float
    max_score: float
    status: str
    output: str
    visibility: str
    tags: tuple[str, ...]
    # How the output and the name are written (FORMATS). Downstack's own checkers write
    # text; Gradescope autograders choose (graders.gradescope keeps what they say).
    output_format: str = "text"
    name_format: str = "text"


@dataclass(frozen=True)
class LeaderboardEntry:
    """One column of a submission's row on a Gradescope-style leaderboard."""

    name: str
    value: float | str
    order: str = "desc"  # "desc": higher ranks first (Gradescope's default); or "asc"


@dataclass(frozen=True)
class Results:
    """A validated results document."""

    score: float
    max_score: float
    output: str
    tests: tuple[TestOutcome, ...]
    # The format of ``output``: a Downstack checker's summary is markdown.
    output_format: str = "md"
    # Gradescope's extras, kept for its autograders (graders.gradescope): who may read
    # the autograder's own output (the staff log), data for staff, the leaderboard row.
    stdout_visibility: str = "hidden"
    extra_data: Mapping[str, Any] | None = None
    leaderboard: tuple[LeaderboardEntry, ...] = ()


def parse_results(raw: bytes | str, *, max_bytes: int) -> Results:
    """Validate a checker's results document; raise ResultsError saying what is wrong."""
    document = _load_document(raw, max_bytes)
    default_visibility, output = _check_document(document, TOP_LEVEL_KEYS, _number)
    tests = tuple(
        _parse_test(entry, index, default_visibility)
        for index, entry in enumerate(_raw_tests(document), start=1)
    )

    if "max_score" in document:
        max_score = _number(document["max_score"], "results: max_score")
    elif tests:
        max_score = sum(test.max_score for test in tests)
    else:
        raise ResultsError("results: max_score is missing and there are no tests to add up")
    if max_score <= 0:
        raise ResultsError(f"results: max_score must be greater than 0, got {max_score:g}")
    if "score" in document:
        score = _number(document["score"], "results: score")
    elif tests:
        score = sum(test.score for test in tests)
    else:
        raise ResultsError("results: score is missing and there are no tests to add up")
    score = _within(score, max_score, "results")
    return Results(score=score, max_score=max_score, output=output, tests=tests)


def _load_document(raw: bytes | str, max_bytes: int) -> dict[str, Any]:
    """The document as a JSON object, refused when oversized, not UTF-8, empty, not JSON,
    or holding NaN, Infinity or a repeated key."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise ResultsError(
            f"the results document is {len(data)} bytes, more than the limit of {max_bytes}"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsError(f"the results document is not valid UTF-8 ({exc.reason})") from exc
    if not text.strip():
        raise ResultsError("the checker printed no results document")
    try:
        document = json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_reject_duplicates
        )
    except json.JSONDecodeError as exc:
        raise ResultsError(f"the results document is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ResultsError(
            f"the results document must be a JSON object, got {_json_type(document)}"
        )
    return document


def _check_document(
    document: Mapping[str, Any],
    known: frozenset[str],
    execution_time: Callable[[object, str], object],
) -> tuple[str, str]:
    """Check the top-level fields other than tests and totals, ``execution_time`` with the
    given check; return the default visibility of the tests and the document's output."""
    _reject_unknown(document, known, "results")
    _reject_unstorable(document, "results")
    default_visibility = _choice(document, "visibility", VISIBILITIES, "results", "visible")
    _choice(document, "stdout_visibility", VISIBILITIES, "results", "visible")
    _choice(document, "output_format", FORMATS, "results", "text")
    output = _text(document, "output", "results")
    if "execution_time" in document:
        execution_time(document["execution_time"], "results: execution_time")
    if "extra_data" in document and not isinstance(document["extra_data"], dict):
        raise ResultsError("results: extra_data must be an object")
    if "leaderboard" in document:
        _check_leaderboard(document["leaderboard"])
    return default_visibility, output


def _raw_tests(document: Mapping[str, Any]) -> list[object]:
    raw_tests = document.get("tests", [])
    if not isinstance(raw_tests, list):
        raise ResultsError(f"results: tests must be a list, got {_json_type(raw_tests)}")
    if len(raw_tests) > MAX_TESTS:
        raise ResultsError(f"results: {len(raw_tests)} tests, more than the limit of {MAX_TESTS}")
    return raw_tests


@dataclass(frozen=True)
class Expected:
    """A check the checker declared before making it: its name, points and visibility."""

    name: str
    max_score: float
    visibility: str


@dataclass(frozen=True)
class Progress:
    """One record of a checker's progress stream; exactly one field is set: a check it
    has made, the name of the check it is working on now, or a check it declares."""

    check: TestOutcome | None = None
    running: str | None = None
    expected: Expected | None = None


PROGRESS_KINDS = ("check", "running", "expect")


def parse_progress(raw: bytes, *, index: int) -> Progress:
    """Validate one streamed record, ``{"check": {...a test...}}``, ``{"running":
    "name"}`` or ``{"expect": {"name": ..., "max_score": ..., "visibility": ...}}``;
    ``index`` numbers the record in messages. Raise ResultsError saying what is wrong,
    as for the final document."""
    where = f"progress record {index}"
    if len(raw) > MAX_PROGRESS_RECORD_BYTES:
        raise ResultsError(
            f"{where} is {len(raw)} bytes, more than the limit of {MAX_PROGRESS_RECORD_BYTES}"
        )
    try:
        record = json.loads(
            raw.decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_reject_duplicates,
        )
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{where} is not valid UTF-8 ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(record, dict) or len(record) != 1 or not set(PROGRESS_KINDS) & set(record):
        raise ResultsError(
            f'{where} must be an object with one key, "check", "running" or "expect"'
        )
    _reject_unstorable(record, where)
    if "running" in record:
        return Progress(running=_name(record["running"], f"{where}: running"))
    if "expect" in record:
        entry = record["expect"]
        if not isinstance(entry, dict):
            raise ResultsError(f"{where}: expect must be an object, got {_json_type(entry)}")
        _reject_unknown(entry, frozenset({"name", "max_score", "visibility"}), where)
        if "max_score" not in entry:
            raise ResultsError(f"{where}: max_score is missing")
        return Progress(
            expected=Expected(
                name=_name(entry.get("name"), f"{where}: name"),
                max_score=_number(entry["max_score"], f"{where}: max_score"),
                visibility=_choice(entry, "visibility", VISIBILITIES, where, "visible"),
            )
        )
    return Progress(check=_parse_test(record["check"], index, "visible"))


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS:
        raise ResultsError(f"{where} must name a check in 1 to {MAX_NAME_CHARS} characters")
    return value


def disagreement(
    streamed: tuple[TestOutcome, ...], results: Results, expected: tuple[Expected, ...] = ()
) -> str | None:
    """Why the final document withdraws or changes a streamed check or leaves out a
    declared one, or None when it agrees: the streamed checks must be its first tests,
    in order, with the same name, score, maximum, status and visibility (outputs may
    have been shortened to fit), and each declared check one of its tests with the
    declared maximum and visibility."""
    if len(streamed) > len(results.tests):
        return (
            f"the checker streamed {len(streamed)} checks but its results hold {len(results.tests)}"
        )
    for number, (sent, final) in enumerate(zip(streamed, results.tests, strict=False), start=1):
        if _verdict(sent) != _verdict(final):
            return (
                f"check {number} was streamed as {_said(sent)} but the results say {_said(final)}"
            )
    made = {(test.name, test.max_score, test.visibility) for test in results.tests}
    for declared in expected:
        if (declared.name, declared.max_score, declared.visibility) not in made:
            return (
                f"the checker declared check {declared.name!r} ({declared.max_score:g} points, "
                f"{declared.visibility}) but its results hold no such check"
            )
    return None


def _verdict(test: TestOutcome) -> tuple[str, str, float, float, str]:
    return (test.name, test.status, test.score, test.max_score, test.visibility)


def _said(test: TestOutcome) -> str:
    return f"{test.name!r} {test.status} {test.score:g}/{test.max_score:g} ({test.visibility})"


def _parse_test(entry: object, index: int, default_visibility: str) -> TestOutcome:
    where = f"test {index}"
    entry, name = _test_entry(entry, index)
    for key in ("score", "max_score"):
        if key not in entry:
            raise ResultsError(f"{where}: {key} is missing")
    max_score = _number(entry["max_score"], f"{where}: max_score")
    score = _within(_number(entry["score"], f"{where}: score"), max_score, where)
    # Not is_full_marks: a check worth 0 points has nothing to miss, so it passes.
    status = _choice(
        entry,
        "status",
        STATUSES,
        where,
        "passed" if score >= full_marks_floor(max_score) else "failed",
    )
    return TestOutcome(
        name=name,
        score=score,
        max_score=max_score,
        status=status,
        output=_text(entry, "output", where),
        visibility=_choice(entry, "visibility", VISIBILITIES, where, default_visibility),
        tags=_tags(entry.get("tags", []), where),
    )


def _test_entry(entry: object, index: int) -> tuple[dict[str, Any], str]:
    """Check a test's keys and the fields that do not score it (name, number, formats,
    extra_data); return the test as an object and its name."""
    where = f"test {index}"
    if not isinstance(entry, dict):
        raise ResultsError(f"{where}: must be an object, got {_json_type(entry)}")
    _reject_unknown(entry, TEST_KEYS, where)
    name = entry.get("name", f"Test {index}")
    if not isinstance(name, str):
        raise ResultsError(f"{where}: name must be a string, got {_json_type(name)}")
    if len(name) > MAX_NAME_CHARS:
        raise ResultsError(
            f"{where}: name is {len(name)} characters, more than the limit of {MAX_NAME_CHARS}"
        )
    if "number" in entry and not isinstance(entry["number"], str | int | float):
        raise ResultsError(f"{where}: number must be a string or a number")
    _choice(entry, "name_format", FORMATS, where, "text")
    _choice(entry, "output_format", FORMATS, where, "text")
    if "extra_data" in entry and not isinstance(entry["extra_data"], dict):
        raise ResultsError(f"{where}: extra_data must be an object")
    return entry, name


def _check_leaderboard(board: object) -> None:
    if not isinstance(board, list):
        raise ResultsError(f"results: leaderboard must be a list, got {_json_type(board)}")
    for position, row in enumerate(board, start=1):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) or "value" not in row:
            raise ResultsError(
                f"results: leaderboard entry {position} must be an object with name and value"
            )


def _tags(tags: object, where: str) -> tuple[str, ...]:
    if not isinstance(tags, list):
        raise ResultsError(f"{where}: tags must be a list of strings, got {_json_type(tags)}")
    if len(tags) > MAX_TAGS:
        raise ResultsError(f"{where}: {len(tags)} tags, more than the limit of {MAX_TAGS}")
    for tag in tags:
        if not isinstance(tag, str):
            raise ResultsError(f"{where}: tags must be strings, got {_json_type(tag)}")
        if len(tag) > MAX_TAG_CHARS:
            raise ResultsError(f"{where}: tag {tag[:20]!r}... is longer than {MAX_TAG_CHARS}")
    return tuple(tags)


def _number(value: object, where: str) -> float:
    number = _finite(value, where)
    if number < 0:
        raise ResultsError(f"{where} must not be negative, got {number:g}")
    return number


def _finite(value: object, where: str) -> float:
    """A JSON number as a finite float, negative or not."""
    # bool is an int in Python but true/false is never a score in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResultsError(f"{where} must be a number, got {_json_type(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ResultsError(f"{where} must be a finite number")
    return number


def _within(score: float, max_score: float, where: str) -> float:
    # Checkers add up floats (0.1 + 0.2); a rounding error is not a contract breach.
    if score > max_score + score_tolerance(max_score):
        raise ResultsError(f"{where}: score {score:g} exceeds max_score {max_score:g}")
    return min(score, max_score)


def _reject_unstorable(value: object, where: str) -> None:
    """Refuse text that no database stores: NUL characters and unpaired surrogates (JSON
    can spell both as escapes). PostgreSQL rejects NUL in text, and an unpaired surrogate
    does not encode as UTF-8."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ResultsError(f"{where}: a string holds a NUL character (\\u0000)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ResultsError(f"{where}: a string holds an unpaired surrogate") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_unstorable(key, where)
            _reject_unstorable(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_unstorable(item, f"{where}[{index}]")


def _text(container: Mapping[str, Any], key: str, where: str) -> str:
    value = container.get(key, "")
    if not isinstance(value, str):
        raise ResultsError(f"{where}: {key} must be a string, got {_json_type(value)}")
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_OUTPUT_BYTES:
        raise ResultsError(
            f"{where}: {key} is {size} bytes, more than the limit of {MAX_OUTPUT_BYTES}"
        )
    return value


def _choice(
    container: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str, default: str
) -> str:
    value = container.get(key, default)
    if value not in allowed:
        raise ResultsError(
            f"{where}: {key} must be one of {', '.join(allowed)}, got {json.dumps(value)}"
        )
    return str(value)


def _reject_unknown(document: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(document) - known)
    if unknown:
        raise ResultsError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(known))})"
        )


def _reject_constant(constant: str) -> float:
    raise ResultsError(f"the results document contains {constant}, which is not a finite number")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ResultsError(f"the results document repeats the key {key!r}")
        document[key] = value
    return document


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
