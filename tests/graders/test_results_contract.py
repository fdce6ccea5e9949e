"""The results contract: what parse_results accepts, and the exact words when it refuses."""

import json
import re

import pytest

from graders import Results, ResultsError, TestOutcome, parse_results
from graders.marks import full_marks_floor, score_tolerance

CAP = 262_144
# The contract's limits, written out: a test that read them from the module would move
# with a wrong value instead of catching it.
MAX_TESTS = 500
MAX_NAME_CHARS = 200
MAX_OUTPUT_BYTES = 64 * 1024
MAX_TAGS = 20
MAX_TAG_CHARS = 100
FORMATS = ("text", "html", "simple_format", "md", "ansi")


def parse(document: object, max_bytes: int = CAP) -> Results:
    return parse_results(json.dumps(document), max_bytes=max_bytes)


def test_a_gradescope_results_document_is_accepted_as_is() -> None:
    document = {
        "score": 7.5,
        "max_score": 10,
        "output": "summary for the learner",
        "output_format": "md",
        "execution_time": 12,
        "visibility": "after_due_date",
        "stdout_visibility": "hidden",
        "extra_data": {"anything": [1, 2]},
        "leaderboard": [{"name": "speed", "value": 3.2, "order": "asc"}],
        "tests": [
            {
                "name": "p99 under 3x p50",
                "name_format": "text",
                "number": "1.1",
                "score": 5,
                "max_score": 5,
                "status": "passed",
                "output": "p99=4.1ms p50=1.6ms",
                "output_format": "text",
                "visibility": "visible",
                "tags": ["tail-latency"],
                "extra_data": {},
            },
            {"name": "hidden one", "score": 2.5, "max_score": 5},
        ],
    }
    results = parse(document)
    assert results == Results(
        score=7.5,
        max_score=10.0,
        output="summary for the learner",
        tests=(
            TestOutcome(
                name="p99 under 3x p50",
                score=5.0,
                max_score=5.0,
                status="passed",
                output="p99=4.1ms p50=1.6ms",
                visibility="visible",
                tags=("tail-latency",),
            ),
            TestOutcome(
                name="hidden one",
                score=2.5,
                max_score=5.0,
                status="failed",
                output="",
                visibility="after_due_date",  # inherited from the document
                tags=(),
            ),
        ),
    )


def test_missing_totals_are_the_sums_of_the_tests() -> None:
    results = parse({"tests": [{"score": 1, "max_score": 2}, {"score": 0.5, "max_score": 0.5}]})
    assert (results.score, results.max_score) == (1.5, 2.5)
    assert [t.name for t in results.tests] == ["Test 1", "Test 2"]
    assert [t.status for t in results.tests] == ["failed", "passed"]


def test_a_top_level_score_may_differ_from_the_tests_sum() -> None:
    results = parse({"score": 3, "max_score": 10, "tests": [{"score": 0, "max_score": 1}]})
    assert (results.score, results.max_score) == (3, 10)


def test_float_rounding_above_max_score_is_tolerated_and_clamped() -> None:
    results = parse({"tests": [{"score": 0.1 + 0.2, "max_score": 0.3}]})
    assert results.tests[0].score == 0.3
    assert results.tests[0].status == "passed"


def test_bytes_and_text_are_both_accepted() -> None:
    raw = '{"score": 1, "max_score": 2, "output": "héllo"}'
    assert parse_results(raw, max_bytes=CAP) == parse_results(raw.encode(), max_bytes=CAP)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "the checker printed no results document"),
        (b"  \n", "the checker printed no results document"),
        (b"\xff\xfe{}", "the results document is not valid UTF-8"),
        (b"not json", "the results document is not valid JSON: Expecting value"),
        (b'{"score": 1', "the results document is not valid JSON"),
        (b'{"score": 1}{"score": 2}', "the results document is not valid JSON: Extra data"),
        (b"[1, 2]", "the results document must be a JSON object, got a list"),
        (b'"text"', "the results document must be a JSON object, got a string"),
        (b'{"score": NaN, "max_score": 1}', "contains NaN, which is not a finite number"),
        (b'{"score": 1, "max_score": Infinity}', "contains Infinity, which is not a finite"),
        (b'{"score": 1, "score": 2, "max_score": 3}', "repeats the key 'score'"),
    ],
)
def test_unreadable_documents_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(ResultsError) as caught:
        parse_results(raw, max_bytes=CAP)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"score": 1, "max_score": 1, "grade": "A"}, "results: unknown key 'grade'"),
        ({"score": 1}, "results: max_score is missing and there are no tests to add up"),
        ({"max_score": 1}, "results: score is missing and there are no tests to add up"),
        ({"score": 0, "max_score": 0}, "results: max_score must be greater than 0, got 0"),
        ({"score": 11, "max_score": 10}, "results: score 11 exceeds max_score 10"),
        ({"score": -1, "max_score": 10}, "results: score must not be negative, got -1"),
        ({"score": "10", "max_score": 10}, "results: score must be a number, got a string"),
        ({"score": True, "max_score": 10}, "results: score must be a number, got a boolean"),
        ({"score": 1, "max_score": None}, "results: max_score must be a number, got null"),
        ({"score": 1e400, "max_score": 10}, "contains Infinity"),
        ({"score": 10**400, "max_score": 10}, "results: score must be a finite number"),
        ({"score": 1, "max_score": 1, "output": 5}, "results: output must be a string"),
        (
            {"score": 1, "max_score": 1, "visibility": "public"},
            "results: visibility must be one of",
        ),
        (
            {"score": 1, "max_score": 1, "stdout_visibility": "x"},
            "results: stdout_visibility must be one of",
        ),
        ({"score": 1, "max_score": 1, "output_format": "pdf"}, "results: output_format must be"),
        ({"score": 1, "max_score": 1, "execution_time": -3}, "execution_time must not be negative"),
        ({"score": 1, "max_score": 1, "extra_data": []}, "results: extra_data must be an object"),
        ({"score": 1, "max_score": 1, "leaderboard": {}}, "results: leaderboard must be a list"),
        (
            {"score": 1, "max_score": 1, "leaderboard": [{"value": 1}]},
            "results: leaderboard entry 1 must be an object with name and value",
        ),
        ({"score": 1, "max_score": 1, "tests": {}}, "results: tests must be a list, got an object"),
        ({"tests": ["passed"]}, "test 1: must be an object, got a string"),
        ({"tests": [{"score": 1}]}, "test 1: max_score is missing"),
        ({"tests": [{"max_score": 1}]}, "test 1: score is missing"),
        (
            {"tests": [{"score": 1, "max_score": 1}, {"score": 1, "max_score": 1, "weight": 2}]},
            "test 2: unknown key 'weight'",
        ),
        (
            {"tests": [{"score": 1, "max_score": 1}] * 2 + [{"score": 7, "max_score": 5}]},
            "test 3: score 7 exceeds max_score 5",
        ),
        ({"tests": [{"name": 3, "score": 1, "max_score": 1}]}, "test 1: name must be a string"),
        (
            {"tests": [{"name": "n" * 201, "score": 1, "max_score": 1}]},
            "test 1: name is 201 characters, more than the limit of 200",
        ),
        (
            {"tests": [{"score": 1, "max_score": 1, "status": "ok"}]},
            'test 1: status must be one of passed, failed, got "ok"',
        ),
        (
            {"tests": [{"score": 1, "max_score": 1, "visibility": "secret"}]},
            "test 1: visibility must be one of visible, hidden, after_due_date, after_published",
        ),
        (
            {"tests": [{"score": 1, "max_score": 1, "tags": "a,b"}]},
            "test 1: tags must be a list of strings, got a string",
        ),
        ({"tests": [{"score": 1, "max_score": 1, "tags": [1]}]}, "test 1: tags must be strings"),
        (
            {"tests": [{"score": 1, "max_score": 1, "tags": ["t"] * 21}]},
            "test 1: 21 tags, more than the limit of 20",
        ),
        (
            {"tests": [{"score": 1, "max_score": 1, "output": "x" * (64 * 1024 + 1)}]},
            "test 1: output is 65537 bytes, more than the limit of 65536",
        ),
        (
            {"tests": [{"score": 1, "max_score": 1, "number": [1]}]},
            "test 1: number must be a string or a number",
        ),
        (
            {"tests": [{"score": 1, "max_score": 1, "output_format": "rtf"}]},
            "test 1: output_format must be one of",
        ),
        (
            {"tests": [{"score": 1, "max_score": 1}] * 501},
            "results: 501 tests, more than the limit of 500",
        ),
    ],
)
def test_documents_that_break_the_contract_are_refused(document: object, message: str) -> None:
    with pytest.raises(ResultsError) as caught:
        parse(document)
    assert message in str(caught.value)


def test_documents_over_the_byte_cap_are_refused_before_parsing() -> None:
    raw = json.dumps({"score": 1, "max_score": 1, "output": "x" * 5000})
    with pytest.raises(ResultsError) as caught:
        parse_results(raw, max_bytes=4096)
    assert str(caught.value) == (
        f"the results document is {len(raw)} bytes, more than the limit of 4096"
    )


def test_outcomes_are_frozen_and_not_collected_as_tests() -> None:
    outcome = parse({"tests": [{"score": 1, "max_score": 1}]}).tests[0]
    with pytest.raises(AttributeError):
        outcome.score = 0  # type: ignore[misc]
    assert TestOutcome.__test__ is False


def test_results_are_frozen_too() -> None:
    results = parse({"score": 1, "max_score": 1})
    with pytest.raises(AttributeError):
        results.score = 0  # type: ignore[misc]


def one_test(**fields: object) -> dict[str, object]:
    """A document with one check worth a point, carrying the given extra fields."""
    return {"tests": [{"score": 1, "max_score": 1, **fields}]}


# Each limit is allowed exactly and refused one past it, so an off-by-one in either
# direction is caught.
def test_a_name_of_exactly_the_limit_is_accepted() -> None:
    name = "n" * MAX_NAME_CHARS
    assert parse(one_test(name=name)).tests[0].name == name


def test_exactly_the_limit_of_tests_is_accepted() -> None:
    results = parse({"tests": [{"score": 1, "max_score": 1}] * MAX_TESTS})
    assert len(results.tests) == MAX_TESTS
    assert results.tests[-1].name == f"Test {MAX_TESTS}"


def test_exactly_the_limit_of_tags_is_accepted() -> None:
    tags = [f"t{i}" for i in range(MAX_TAGS)]
    assert parse(one_test(tags=tags)).tests[0].tags == tuple(tags)


def test_a_tag_of_exactly_the_limit_is_accepted() -> None:
    tag = "t" * MAX_TAG_CHARS
    assert parse(one_test(tags=["short", tag])).tests[0].tags == ("short", tag)


def test_an_overlong_tag_is_refused_naming_its_start() -> None:
    tag = "abcdefghijklmnopqrstuvwxyz" + "t" * (MAX_TAG_CHARS + 1 - 26)
    with pytest.raises(ResultsError) as caught:
        parse(one_test(tags=["fine", tag]))
    assert str(caught.value) == (
        f"test 1: tag 'abcdefghijklmnopqrst'... is longer than {MAX_TAG_CHARS}"
    )


@pytest.mark.parametrize("where", ["test", "results"])
def test_output_of_exactly_the_byte_limit_is_accepted_and_one_more_refused(where: str) -> None:
    # Counted in UTF-8 bytes: "é" is two of them.
    exact = "é" * (MAX_OUTPUT_BYTES // 2)

    def document(output: str) -> dict[str, object]:
        if where == "test":
            return one_test(output=output)
        return {"score": 1, "max_score": 1, "output": output}

    results = parse(document(exact))
    assert (results.tests[0].output if where == "test" else results.output) == exact
    with pytest.raises(ResultsError) as caught:
        parse(document(exact + "x"))
    label = "test 1" if where == "test" else "results"
    assert str(caught.value) == (
        f"{label}: output is {MAX_OUTPUT_BYTES + 1} bytes, "
        f"more than the limit of {MAX_OUTPUT_BYTES}"
    )


def test_a_document_of_exactly_the_byte_cap_is_accepted() -> None:
    raw = json.dumps({"score": 1, "max_score": 1, "output": "x" * 100})
    assert parse_results(raw, max_bytes=len(raw)).output == "x" * 100
    with pytest.raises(ResultsError, match="more than the limit"):
        parse_results(raw, max_bytes=len(raw) - 1)


def test_a_score_exactly_at_the_full_marks_floor_passes() -> None:
    floor = full_marks_floor(1.0)
    passed, short = parse(
        {"tests": [{"score": floor, "max_score": 1}, {"score": floor - 1e-6, "max_score": 1}]}
    ).tests
    assert (passed.status, short.status) == ("passed", "failed")


def test_a_score_over_max_by_exactly_the_tolerance_is_clamped_and_one_past_refused() -> None:
    over = 1.0 + score_tolerance(1.0)
    assert parse({"score": over, "max_score": 1}).score == 1.0
    with pytest.raises(ResultsError, match="results: score .* exceeds max_score 1"):
        parse({"score": over + 1e-6, "max_score": 1})


def test_scores_and_totals_may_be_zero_or_small_but_the_total_must_be_positive() -> None:
    results = parse({"score": 0, "max_score": 0.5, "tests": [{"score": 0, "max_score": 0}]})
    assert (results.score, results.max_score) == (0.0, 0.5)
    # A check worth nothing has nothing to miss.
    assert results.tests[0].status == "passed"
    assert parse({"score": 0.5, "max_score": 1}).score == 0.5


def test_floats_are_fine_for_every_limit_bounded_field() -> None:
    results = parse({"score": 1.5, "max_score": 2.5, "execution_time": 0.25})
    assert (results.score, results.max_score) == (1.5, 2.5)


def test_name_format_must_be_one_of_the_formats() -> None:
    for name_format in FORMATS:
        assert parse(one_test(name="n", name_format=name_format)).tests[0].name == "n"
    with pytest.raises(ResultsError) as caught:
        parse(one_test(name_format="pdf"))
    assert str(caught.value) == (
        f'test 1: name_format must be one of {", ".join(FORMATS)}, got "pdf"'
    )


def test_a_checks_extra_data_must_be_an_object() -> None:
    assert parse(one_test(extra_data={"seconds": 3})).tests[0].score == 1
    with pytest.raises(ResultsError) as caught:
        parse(one_test(extra_data=[3]))
    assert str(caught.value) == "test 1: extra_data must be an object"


def test_the_first_unknown_key_in_order_is_named() -> None:
    with pytest.raises(ResultsError) as caught:
        parse({"score": 1, "max_score": 1, "weight": 2, "grade": "A"})
    assert str(caught.value).startswith("results: unknown key 'grade' (allowed: execution_time,")


@pytest.mark.parametrize(
    ("name", "kind"),
    [(3, "a number"), (1.5, "a number"), (None, "null"), (True, "a boolean"), ([], "a list")],
)
def test_a_wrong_type_is_named_in_json_terms(name: object, kind: str) -> None:
    with pytest.raises(ResultsError) as caught:
        parse(one_test(name=name))
    assert str(caught.value) == f"test 1: name must be a string, got {kind}"


@pytest.mark.parametrize("row", [5, {"name": "speed"}, {"name": 3, "value": 1}])
def test_a_leaderboard_row_needs_a_name_and_a_value(row: object) -> None:
    with pytest.raises(ResultsError) as caught:
        parse({"score": 1, "max_score": 1, "leaderboard": [{"name": "ok", "value": 1}, row]})
    assert str(caught.value) == (
        "results: leaderboard entry 2 must be an object with name and value"
    )


@pytest.mark.parametrize(
    ("document", "where", "problem"),
    [
        ({"output": "a\u0000b", "tests": []}, "results.output", "NUL character"),
        (
            {"tests": [{"name": "n\u0000", "score": 1, "max_score": 1}]},
            "results.tests[0].name",
            "NUL character",
        ),
        (
            {"tests": [{"name": "t", "score": 1, "max_score": 1, "tags": ["\ud800"]}]},
            "results.tests[0].tags[0]",
            "unpaired surrogate",
        ),
        ({"extra_data": {"k\u0000": 1}, "tests": []}, "results.extra_data", "NUL character"),
    ],
)
def test_text_no_database_can_store_is_refused_naming_where(document, where, problem) -> None:
    # json.dumps spells both as \u escapes, as a checker's JSON library would.
    with pytest.raises(ResultsError) as refused:
        parse(document)
    assert str(refused.value).startswith(f"{where}: a string holds") and problem in str(
        refused.value
    )


def test_escaped_text_that_is_storable_is_kept() -> None:
    results = parse({"output": "tab\there \u00e9 \U0001f600", "score": 1, "max_score": 1})
    assert results.output == "tab\there \u00e9 \U0001f600"


# -- progress records ------------------------------------------------------------------


def _progress(record: object, index: int = 1):
    from graders.results import parse_progress

    raw = record if isinstance(record, bytes) else json.dumps(record).encode()
    return parse_progress(raw, index=index)


def test_a_progress_record_is_a_check_or_the_name_of_the_running_one() -> None:
    check = _progress({"check": {"name": "a", "score": 1, "max_score": 2, "visibility": "hidden"}})
    assert check.running is None and check.check is not None
    assert (check.check.name, check.check.score, check.check.status) == ("a", 1.0, "failed")
    assert check.check.visibility == "hidden"
    running = _progress({"running": "hidden case 2"})
    assert running == type(running)(check=None, running="hidden case 2")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (b"not json", "progress record 3 is not valid JSON"),
        (b"\xff", "progress record 3 is not valid UTF-8"),
        ([], 'must be an object with one key, "check", "running" or "expect"'),
        ({"check": {}, "running": "a"}, "must be an object with one key"),
        ({"done": True}, "must be an object with one key"),
        ({"running": ""}, "running must name a check in 1 to 200 characters"),
        ({"running": 7}, "running must name a check"),
        ({"running": "x\u0000"}, "a string holds a NUL character"),
        (
            {"check": {"name": "a", "score": 2, "max_score": 1}},
            "test 3: score 2 exceeds max_score 1",
        ),
        ({"check": {"name": "a", "score": 1}}, "test 3: max_score is missing"),
        ({"check": {"name": "a", "score": 1, "max_score": 1, "secret": 1}}, "test 3: unknown key"),
        (
            {"check": {"name": "a", "score": 0, "max_score": 1, "output": "x" * 20_000}},
            "more than the limit of 16384",
        ),
    ],
)
def test_a_bad_progress_record_is_refused_saying_why(record, message) -> None:
    with pytest.raises(ResultsError, match=re.escape(message)):
        _progress(record, index=3)


def test_the_results_must_agree_with_every_streamed_check() -> None:
    from graders.results import disagreement

    results = parse_results(
        json.dumps(
            {
                "tests": [
                    {"name": "a", "score": 1, "max_score": 1, "output": "full text"},
                    {"name": "b", "score": 0, "max_score": 2, "visibility": "hidden"},
                ]
            }
        ),
        max_bytes=1 << 20,
    )
    a, b = results.tests
    shortened = _progress({"check": {"name": "a", "score": 1, "max_score": 1, "output": "full"}})
    assert disagreement((), results) is None
    assert disagreement((shortened.check,), results) is None  # outputs may be shortened
    assert disagreement((a, b), results) is None
    withdrawn = _progress({"check": {"name": "a", "score": 1, "max_score": 1, "status": "passed"}})
    changed = _progress({"check": {"name": "b", "score": 0, "max_score": 2}})
    assert disagreement((withdrawn.check, changed.check), results) == (
        "check 2 was streamed as 'b' failed 0/2 (visible) but the results say "
        "'b' failed 0/2 (hidden)"
    )
    assert disagreement((b,), results) == (
        "check 1 was streamed as 'b' failed 0/2 (hidden) but the results say "
        "'a' passed 1/1 (visible)"
    )
    assert disagreement((a, b, a), results) == (
        "the checker streamed 3 checks but its results hold 2"
    )
