"""Gradescope's results.json dialect: what parse_gradescope_results accepts beyond the native
contract, what it still refuses (with the exact words), and real gradescope-utils output."""

import json
from pathlib import Path

import pytest

from graders import Results, ResultsError, TestOutcome, parse_results
from graders.gradescope import parse_gradescope_results
from graders.results import LeaderboardEntry

CAP = 262_144
FORMATS = ("text", "html", "simple_format", "md", "ansi")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
ANY_FORMAT = "must be one of text, html, simple_format, md, ansi"
ANY_VISIBILITY = "must be one of visible, hidden, after_due_date, after_published"
RESULTS = Path(__file__).parent / "gradescope" / "results"


def parse(document: object, max_bytes: int = CAP) -> Results:
    return parse_gradescope_results(json.dumps(document), max_bytes=max_bytes)


def refusal(document: object) -> str:
    with pytest.raises(ResultsError) as caught:
        parse(document)
    return str(caught.value)


def outcome(name: str, score: float, max_score: float, status: str, **rest) -> TestOutcome:
    fields = {"output": "", "visibility": "visible", "tags": (), **rest}
    return TestOutcome(name=name, score=score, max_score=max_score, status=status, **fields)


# -- real documents written by gradescope-utils' JSONTestRunner -----------------------


@pytest.mark.parametrize("solution", ["correct", "wrong", "crashing"])
def test_the_native_contract_refuses_what_gradescope_utils_writes(solution: str) -> None:
    with pytest.raises(ResultsError) as caught:
        parse_results((RESULTS / f"{solution}.json").read_bytes(), max_bytes=CAP)
    assert str(caught.value) == "results: execution_time must be a number, got a string"


def test_a_correct_solutions_real_results_score_full_marks() -> None:
    results = parse_gradescope_results((RESULTS / "correct.json").read_bytes(), max_bytes=CAP)
    assert results == Results(
        output_format="text",
        stdout_visibility="hidden",
        score=10.0,
        max_score=10.0,
        output="",
        tests=(
            outcome("add sums two numbers", 2, 2, "passed"),
            outcome("every function has a docstring (no points)", 0, 0, "passed"),
            outcome("mean of a list", 3, 3, "passed", visibility="after_due_date"),
            outcome("mean of a single value", 1, 1, "passed", visibility="hidden", tags=("edge",)),
            outcome("shout, one point per case", 4, 4, "passed"),
        ),
    )


def test_a_wrong_solutions_real_results_keep_partial_credit_and_failures() -> None:
    results = parse_gradescope_results((RESULTS / "wrong.json").read_bytes(), max_bytes=CAP)
    assert (results.score, results.max_score) == (5.0, 10.0)
    assert [(t.score, t.max_score, t.status) for t in results.tests] == [
        (2, 2, "passed"),
        (0, 0, "failed"),  # the informational check keeps its failed status
        (0, 3, "failed"),
        (1, 1, "passed"),
        (2, 4, "failed"),  # partial_credit: 2 of 4 cases
    ]
    assert results.tests[1].output == "Test Failed: None is not true : shout has no docstring\n"


def test_a_crashing_solutions_real_results_score_its_errors_as_zero() -> None:
    results = parse_gradescope_results((RESULTS / "crashing.json").read_bytes(), max_bytes=CAP)
    assert (results.score, results.max_score) == (4.0, 10.0)
    add, _, _, _, shout = results.tests
    assert (add.score, add.status) == (0, "failed")
    assert add.output == "Test Failed: unsupported operand type(s) for +: 'int' and 'str'\n"
    assert (shout.score, shout.status) == (0, "failed")


# -- what the dialect accepts -----------------------------------------------------------


@pytest.mark.parametrize("seconds", ["0.02", "12", "136.50", 136, 0.25, 0])
def test_execution_time_may_be_a_number_or_a_numeric_string(seconds: object) -> None:
    assert parse({"score": 1, "execution_time": seconds}).score == 1


def test_a_test_with_only_a_status_is_informational() -> None:
    results = parse({"tests": [{"name": "lint", "status": "failed"}, {"score": 1, "max_score": 1}]})
    assert results.tests[0] == outcome("lint", 0, 0, "failed")
    assert (results.score, results.max_score) == (1, 1)


def test_a_test_with_no_points_and_no_status_passes() -> None:
    assert parse({"tests": [{"name": "note"}]}).tests[0] == outcome("note", 0, 0, "passed")


def test_a_score_without_max_score_is_kept_worth_nothing_and_counts_as_extra_credit() -> None:
    results = parse({"tests": [{"score": 2, "max_score": 4}, {"name": "bonus", "score": 1}]})
    assert results.tests[1] == outcome("bonus", 1, 0, "passed")
    assert (results.score, results.max_score) == (3, 4)


def test_a_top_level_score_overrides_the_tests_sum() -> None:
    results = parse(
        {"score": 7, "tests": [{"score": 1, "max_score": 5}, {"score": 0, "max_score": 5}]}
    )
    assert (results.score, results.max_score) == (7, 10)


def test_a_top_level_score_stands_without_tests_and_without_a_total() -> None:
    assert parse({"score": 44.0}) == Results(
        score=44.0, max_score=0.0, output="", tests=(), output_format="text"
    )


def test_a_top_level_max_score_overrides_the_tests_maxima() -> None:
    results = parse({"max_score": 20, "tests": [{"score": 1, "max_score": 5}]})
    assert (results.score, results.max_score) == (1, 20)


def test_a_test_worth_points_may_leave_its_score_to_the_top_level_score() -> None:
    results = parse({"score": 3, "tests": [{"name": "a", "max_score": 5}]})
    assert results.tests[0] == outcome("a", 0, 5, "failed")
    assert (results.score, results.max_score) == (3, 5)


def test_negative_scores_and_extra_credit_are_kept_as_given() -> None:
    results = parse(
        {
            "tests": [
                {"name": "late penalty", "score": -2, "max_score": 0},
                {"name": "bonus", "score": 7, "max_score": 5},
            ]
        }
    )
    penalty, bonus = results.tests
    assert (penalty.score, penalty.status) == (-2, "failed")
    assert (bonus.score, bonus.status) == (7, "passed")
    assert (results.score, results.max_score) == (5, 5)
    assert parse({"score": -1, "max_score": 10}).score == -1
    assert parse({"score": 12, "max_score": 10}).score == 12


def test_a_given_status_wins_over_the_score() -> None:
    results = parse({"tests": [{"score": 0, "max_score": 1, "status": "passed"}]})
    assert results.tests[0].status == "passed"


@pytest.mark.parametrize("key", ["output_format", "test_output_format", "test_name_format"])
@pytest.mark.parametrize("value", FORMATS)
def test_every_format_is_accepted_at_the_top_level(key: str, value: str) -> None:
    assert parse({"score": 1, key: value}).score == 1


@pytest.mark.parametrize("key", ["output_format", "name_format"])
@pytest.mark.parametrize("value", FORMATS)
def test_every_format_is_accepted_on_a_test(key: str, value: str) -> None:
    assert parse({"tests": [{"score": 1, "max_score": 1, key: value}]}).score == 1


@pytest.mark.parametrize("value", VISIBILITIES)
def test_visibility_applies_per_test_and_as_the_top_level_default(value: str) -> None:
    results = parse(
        {
            "visibility": value,
            "stdout_visibility": value,
            "tests": [{"score": 1, "max_score": 1}, {"status": "passed", "visibility": "visible"}],
        }
    )
    assert [t.visibility for t in results.tests] == [value, "visible"]


def test_the_rest_of_gradescopes_fields_are_accepted() -> None:
    results = parse(
        {
            "score": 44.0,
            "execution_time": 136,
            "output": "Text relevant to the entire submission",
            "extra_data": {"k": [1]},
            "leaderboard": [
                {"name": "Accuracy", "value": 0.926},
                {"name": "Time", "value": 15.1, "order": "asc"},
                {"name": "Stars", "value": "*****"},
            ],
            "tests": [
                {
                    "score": 2.0,
                    "max_score": 2.0,
                    "status": "passed",
                    "name": "Your name here",
                    "number": "1.1",
                    "output": "Giant multiline string",
                    "tags": ["tag1", "tag2"],
                    "extra_data": {},
                }
            ],
        }
    )
    assert results.output == "Text relevant to the entire submission"
    assert results.tests[0] == outcome(
        "Your name here", 2, 2, "passed", output="Giant multiline string", tags=("tag1", "tag2")
    )
    assert results.extra_data == {"k": [1]}
    assert results.leaderboard == (
        LeaderboardEntry("Accuracy", 0.926, "desc"),
        LeaderboardEntry("Time", 15.1, "asc"),
        LeaderboardEntry("Stars", "*****", "desc"),
    )


def test_formats_are_kept_the_tests_defaults_from_the_top_level() -> None:
    results = parse(
        {
            "output": "<b>all</b>",
            "output_format": "html",
            "test_output_format": "md",
            "test_name_format": "html",
            "tests": [
                {"score": 1, "max_score": 1, "output": "*a*"},
                {"score": 1, "max_score": 1, "output_format": "ansi", "name_format": "text"},
            ],
        }
    )
    assert results.output_format == "html"
    assert [(t.output_format, t.name_format) for t in results.tests] == [
        ("md", "html"),
        ("ansi", "text"),
    ]


def test_without_formats_everything_is_text_and_stdout_is_for_staff() -> None:
    results = parse({"tests": [{"score": 1, "max_score": 1}]})
    assert results.output_format == "text"
    assert (results.tests[0].output_format, results.tests[0].name_format) == ("text", "text")
    assert results.stdout_visibility == "hidden"
    assert results.extra_data is None and results.leaderboard == ()


@pytest.mark.parametrize("value", VISIBILITIES)
def test_stdout_visibility_is_kept(value: str) -> None:
    assert parse({"score": 1, "stdout_visibility": value}).stdout_visibility == value


@pytest.mark.parametrize(
    "board, message",
    [
        ([{"name": "a", "value": 1, "rank": 1}], "entry 1: unknown key 'rank'"),
        ([{"name": "a", "value": 1, "order": "up"}], "order must be one of desc, asc"),
        ([{"name": "", "value": 1}], "name must be 1 to 100 characters"),
        ([{"name": "a" * 101, "value": 1}], "name must be 1 to 100 characters"),
        ([{"name": "a", "value": "x" * 101}], "value is longer than 100"),
        ([{"name": "a", "value": True}], "value must be a number, got a boolean"),
        ([{"name": "a", "value": None}], "value must be a number, got null"),
        ([{"name": f"c{i}", "value": i} for i in range(21)], "21 entries, more than 20"),
    ],
)
def test_a_leaderboard_row_is_validated_column_by_column(board: list, message: str) -> None:
    assert message in refusal({"score": 1, "leaderboard": board})


# -- what it still refuses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "the checker printed no results document"),
        (b"\xff{}", "the results document is not valid UTF-8"),
        (b"not json", "the results document is not valid JSON: Expecting value"),
        (b"[]", "the results document must be a JSON object, got a list"),
        (b'{"score": NaN}', "the results document contains NaN, which is not a finite number"),
        (b'{"score": 1, "score": 2}', "the results document repeats the key 'score'"),
    ],
)
def test_unreadable_documents_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(ResultsError) as caught:
        parse_gradescope_results(raw, max_bytes=CAP)
    assert message in str(caught.value)


def test_a_document_over_the_byte_cap_is_refused() -> None:
    raw = json.dumps({"score": 1, "output": "x" * 100})
    assert parse_gradescope_results(raw, max_bytes=len(raw)).score == 1
    with pytest.raises(ResultsError) as caught:
        parse_gradescope_results(raw, max_bytes=len(raw) - 1)
    assert str(caught.value) == (
        f"the results document is {len(raw)} bytes, more than the limit of {len(raw) - 1}"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"score": 1, "weight": 2}, "results: unknown key 'weight' (allowed: execution_time,"),
        ({"tests": []}, "results: score is missing and there are no tests to add up"),
        ({}, "results: score is missing and there are no tests to add up"),
        ({"score": "10"}, "results: score must be a number, got a string"),
        ({"score": True}, "results: score must be a number, got a boolean"),
        ({"score": 10**400}, "results: score must be a finite number"),
        ({"score": 1, "max_score": -1}, "results: max_score must not be negative, got -1"),
        ({"score": 1, "max_score": "10"}, "results: max_score must be a number, got a string"),
        (
            {"score": 1, "execution_time": "fast"},
            'results: execution_time must be a number or a numeric string such as "0.02", '
            'got "fast"',
        ),
        ({"score": 1, "execution_time": "-1"}, 'numeric string such as "0.02", got "-1"'),
        ({"score": 1, "execution_time": "nan"}, 'numeric string such as "0.02", got "nan"'),
        ({"score": 1, "execution_time": " 1"}, 'numeric string such as "0.02", got " 1"'),
        ({"score": 1, "execution_time": "1e3"}, 'numeric string such as "0.02", got "1e3"'),
        ({"score": 1, "execution_time": -3}, "results: execution_time must not be negative"),
        (
            {"score": 1, "execution_time": None},
            "results: execution_time must be a number, got null",
        ),
        (
            {"score": 1, "output_format": "pdf"},
            f'results: output_format {ANY_FORMAT}, got "pdf"',
        ),
        (
            {"score": 1, "test_output_format": "rtf"},
            f'results: test_output_format {ANY_FORMAT}, got "rtf"',
        ),
        (
            {"score": 1, "test_name_format": 3},
            f"results: test_name_format {ANY_FORMAT}, got 3",
        ),
        (
            {"score": 1, "visibility": "public"},
            f'results: visibility {ANY_VISIBILITY}, got "public"',
        ),
        (
            {"score": 1, "stdout_visibility": "x"},
            f'results: stdout_visibility {ANY_VISIBILITY}, got "x"',
        ),
        ({"score": 1, "output": 5}, "results: output must be a string, got a number"),
        ({"score": 1, "extra_data": []}, "results: extra_data must be an object"),
        ({"score": 1, "leaderboard": {}}, "results: leaderboard must be a list, got an object"),
        (
            {"score": 1, "leaderboard": [{"value": 1}]},
            "results: leaderboard entry 1 must be an object with name and value",
        ),
        ({"score": 1, "tests": {}}, "results: tests must be a list, got an object"),
        (
            {"score": 1, "tests": [{"status": "ok"}] * 501},
            "results: 501 tests, more than the limit of 500",
        ),
        ({"tests": ["passed"]}, "test 1: must be an object, got a string"),
        ({"tests": [{"status": "passed", "weight": 1}]}, "test 1: unknown key 'weight'"),
        ({"tests": [{"status": "ok"}]}, 'test 1: status must be one of passed, failed, got "ok"'),
        (
            {"tests": [{"status": "error"}]},
            'test 1: status must be one of passed, failed, got "error"',
        ),
        (
            {"tests": [{"max_score": 2}]},
            "test 1: score is missing, and only a top-level score may stand in for it",
        ),
        (
            {"tests": [{"score": "1", "max_score": 2}]},
            "test 1: score must be a number, got a string",
        ),
        (
            {"tests": [{"score": 1, "max_score": -2}]},
            "test 1: max_score must not be negative, got -2",
        ),
        (
            {"tests": [{"score": 1, "max_score": None}]},
            "test 1: max_score must be a number, got null",
        ),
        ({"tests": [{"score": False}]}, "test 1: score must be a number, got a boolean"),
        ({"tests": [{"name": 3}]}, "test 1: name must be a string, got a number"),
        (
            {"tests": [{"name": "n" * 201}]},
            "test 1: name is 201 characters, more than the limit of 200",
        ),
        ({"tests": [{"number": [1]}]}, "test 1: number must be a string or a number"),
        (
            {"tests": [{"name_format": "pdf"}]},
            f'test 1: name_format {ANY_FORMAT}, got "pdf"',
        ),
        (
            {"tests": [{"output_format": "rtf"}]},
            f'test 1: output_format {ANY_FORMAT}, got "rtf"',
        ),
        (
            {"tests": [{"visibility": "secret"}]},
            f'test 1: visibility {ANY_VISIBILITY}, got "secret"',
        ),
        ({"tests": [{"output": ["x"]}]}, "test 1: output must be a string, got a list"),
        (
            {"tests": [{"output": "x" * (64 * 1024 + 1)}]},
            "test 1: output is 65537 bytes, more than the limit of 65536",
        ),
        ({"tests": [{"tags": "a,b"}]}, "test 1: tags must be a list of strings, got a string"),
        ({"tests": [{"tags": ["t"] * 21}]}, "test 1: 21 tags, more than the limit of 20"),
        ({"tests": [{"extra_data": [3]}]}, "test 1: extra_data must be an object"),
        ({"tests": [{"name": "n\u0000"}]}, "results.tests[0].name: a string holds a NUL character"),
    ],
)
def test_documents_that_break_the_dialect_are_refused(document: object, message: str) -> None:
    assert message in refusal(document)


def test_the_native_keys_and_the_two_test_format_defaults_are_the_allowed_ones() -> None:
    assert refusal({"score": 1, "grade": "A"}) == (
        "results: unknown key 'grade' (allowed: execution_time, extra_data, leaderboard, "
        "max_score, output, output_format, score, stdout_visibility, test_name_format, "
        "test_output_format, tests, visibility)"
    )
