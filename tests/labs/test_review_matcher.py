"""The ai-patch-review checker's logic: review.json validation, matching, F1, versions.

The checker's folder is assembled as the sandbox gets it (grader/ plus the starter files
lab.toml includes), and its modules are imported from there under their own names, then
taken out of sys.modules again, so that other labs' modules of the same name (check...)
cannot mix with them.
"""

import importlib
import importlib.util
import json
from pathlib import Path

import pytest

from catalog.labfiles import load_lab
from tests.labs.checker_modules import load_checker

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "ai-patch-review"
GRADER_MODULES = ("review", "versions", "regression", "check")
SPEC = load_lab(LAB)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKER_DIR, _checker = load_checker("ai-patch-review", GRADER_MODULES)
review, versions, regression = _checker["review"], _checker["versions"], _checker["regression"]
check = _checker["check"]
apply_pr = _load("ai_patch_review_apply_pr", LAB / "starter" / "apply_pr.py")

KEY_DOCUMENT = json.loads((LAB / "grader" / "review_key.json").read_text())
KEY = review.load_key(KEY_DOCUMENT)
PATCHED = versions.assemble(check.PR_VERSION)
KNOWN_FILES = check.patched_files()


def finding(file, line, category, severity="high", comment="why"):
    return review.Finding(file, line, review.canonical_category(category), severity, comment)


def parse(document) -> "review.Review":
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return review.parse_review(raw, known_files=KNOWN_FILES)


def problems_of(document) -> list[str]:
    with pytest.raises(review.ReviewError) as caught:
        parse(document)
    return caught.value.problems


# -- the versions of the code and the key ---------------------------------------------------


def test_every_version_assembles_from_only_the_files_it_changes():
    for name in versions.BASES:
        own, base = versions.own_files(name), versions.base_files(name)
        assert own, f"{name} changes nothing: it is its base"
        for path, data in own.items():
            assert base.get(path) != data, f"versions/{name}/{path} is identical to its base's"
        assert "relay/__init__.py" in versions.assemble(name), name


def test_every_version_is_built_on_the_repository_the_learner_was_given():
    for name in versions.BASES:
        chain = [name]
        while chain[-1] in versions.BASES:
            chain.append(versions.BASES[chain[-1]])
            assert len(chain) <= len(versions.BASES) + 1, f"a cycle: {chain}"
        assert chain[-1] == "starter/repo", chain
    assert set(check.CORRECT) | set(check.WRONG) | {check.PR_VERSION} == set(versions.BASES)


def test_every_key_anchor_points_at_the_line_it_names():
    for defect in KEY_DOCUMENT["defects"]:
        for anchor in defect["anchors"]:
            lines = PATCHED[anchor["file"]].decode().splitlines()
            assert lines[anchor["line"] - 1].strip() == anchor["text"], (defect["id"], anchor)


def test_the_diff_applied_to_the_base_gives_the_patched_tree(tmp_path):
    # The diff is what the learner reviews; the assembled PR version is what is graded.
    head = tmp_path / "head"
    for name, data in SPEC.files("starter/repo").items():
        (head / name).parent.mkdir(parents=True, exist_ok=True)
        (head / name).write_bytes(data)
    apply_pr.apply((LAB / "starter" / "pr" / "pr-42.diff").read_text(), head)
    applied = {
        p.relative_to(head).as_posix(): p.read_bytes() for p in head.rglob("*") if p.is_file()
    }
    assert applied == PATCHED


def test_the_key_has_one_defect_of_each_kind():
    assert sorted(d.category for d in KEY) == [
        "error-handling",
        "invariant",
        "off-by-one",
        "race",
        "resource-leak",
    ]


# -- categories and synonyms -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("race", "race"),
        ("Thread safety", "race"),
        ("CONCURRENCY", "race"),
        ("toctou", "race"),
        ("swallowed_error", "error-handling"),
        ("silent failure", "error-handling"),
        ("fencepost", "off-by-one"),
        ("off by one", "off-by-one"),
        ("data-structure", "invariant"),
        ("connection leak", "resource-leak"),
        ("nit", "style"),
    ],
)
def test_category_synonyms_map_to_one_name(name, canonical):
    assert review.canonical_category(name) == canonical


@pytest.mark.parametrize("name", ["bug", "logic", "", "racy"])
def test_unknown_categories_are_not_guessed(name):
    assert review.canonical_category(name) is None


# -- matching ------------------------------------------------------------------------------


def test_a_finding_on_each_anchor_finds_every_defect():
    found = [finding(d.anchors[0].file, d.anchors[0].line, d.category) for d in KEY]
    score = review.score_findings(found, KEY)
    assert score.true_positives == 5 and score.false_positives == 0
    assert score.f1 == 1.0


@pytest.mark.parametrize(("offset", "matches"), [(-3, True), (3, True), (-4, False), (4, False)])
def test_line_tolerance_is_three_lines_either_side(offset, matches):
    # relay/outbox.py:77 is the heap defect's only anchor.
    score = review.score_findings([finding("relay/outbox.py", 77 + offset, "invariant")], KEY)
    assert score.true_positives == (1 if matches else 0)
    assert score.false_positives == (0 if matches else 1)


def test_tolerance_is_measured_from_the_nearest_anchor():
    # The race has anchors on lines 32 and 33: 36 is within 3 of 33.
    score = review.score_findings([finding("relay/pool.py", 36, "race")], KEY)
    assert score.matched == ("pool-fast-path-race",)


def test_the_same_line_in_another_file_does_not_match():
    score = review.score_findings([finding("relay/pool.py", 77, "invariant")], KEY)
    assert score.true_positives == 0 and score.false_positives == 1


def test_synonym_categories_match():
    found = [finding("relay/pool.py", 32, "thread-safety"), finding("relay/retry.py", 28, "obo")]
    score = review.score_findings(found, KEY)
    assert set(score.matched) == {"pool-fast-path-race", "backoff-exponent-off-by-one"}


def test_a_defect_found_twice_counts_once_and_is_not_a_false_positive():
    found = [
        finding("relay/dispatcher.py", 65, "resource-leak"),
        finding("relay/dispatcher.py", 63, "leak"),
        finding("relay/dispatcher.py", 64, "connection-leak"),
    ]
    score = review.score_findings(found, KEY)
    assert score.true_positives == 1
    assert score.duplicates == 2
    assert score.false_positives == 0
    assert score.precision == 1.0 and score.recall == pytest.approx(0.2)


def test_a_defect_with_anchors_in_two_files_matches_either():
    at_call_site = finding("relay/dispatcher.py", 72, "off-by-one")
    in_policy = finding("relay/retry.py", 28, "off-by-one")
    assert review.score_findings([at_call_site], KEY).matched == ("backoff-exponent-off-by-one",)
    both = review.score_findings([at_call_site, in_policy], KEY)
    assert both.true_positives == 1 and both.duplicates == 1


def test_right_line_wrong_category_is_a_false_positive():
    score = review.score_findings([finding("relay/outbox.py", 77, "race")], KEY)
    assert score.true_positives == 0
    assert score.false_positives == 1 and score.wrong_category == 1


def test_style_documentation_and_testing_comments_are_not_scored():
    found = [
        finding("relay/outbox.py", 77, "invariant"),
        finding("tests/test_dispatcher.py", 45, "testing"),
        finding("relay/retry.py", 10, "docs"),
        finding("relay/pool.py", 5, "nit"),
    ]
    score = review.score_findings(found, KEY)
    assert score.unscored == 3
    assert score.precision == 1.0 and score.true_positives == 1


def test_f1_over_distinct_defects():
    found = [
        finding("relay/outbox.py", 77, "invariant"),
        finding("relay/retry.py", 28, "off-by-one"),
        finding("relay/transport.py", 20, "security"),
    ]
    score = review.score_findings(found, KEY)
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == pytest.approx(2 / 5)
    assert score.f1 == pytest.approx(0.5)


def test_no_findings_scores_zero_without_dividing_by_zero():
    score = review.score_findings([], KEY)
    assert (score.precision, score.recall, score.f1) == (0.0, 0.0, 0.0)


def test_flagging_twelve_lines_at_random_scores_low():
    lines = [(f, n) for f, count in KNOWN_FILES.items() if f.startswith("relay/") for n in (1,)]
    kinds = ["race", "error-handling", "off-by-one", "invariant", "resource-leak"]
    found = [finding(f, n, kinds[i % 5]) for i, (f, n) in enumerate(lines * 2)][:12]
    assert review.score_findings(found, KEY).f1 < 0.2


def test_feedback_gives_counts_not_the_key():
    found = [finding("relay/outbox.py", 77, "invariant"), finding("relay/outbox.py", 75, "race")]
    text = review.explain_score(review.score_findings(found, KEY))
    assert "found 1 of them" in text and "1 finding(s) sit within 3 lines" in text
    for defect in KEY:
        assert defect.id not in text
        assert str(defect.anchors[0].line) not in text


# -- validation ------------------------------------------------------------------------------


def good_finding(**overrides):
    item = {
        "file": "relay/outbox.py",
        "line": 77,
        "category": "invariant",
        "severity": "high",
        "comment": "append breaks the heap",
    }
    item.update(overrides)
    return item


def test_a_valid_review_parses_and_normalises():
    parsed = parse(
        {
            "verdict": "request_changes",
            "summary": "no",
            "findings": [good_finding(file="b/relay/outbox.py", category="Broken invariant")],
        }
    )
    assert parsed.verdict == "request_changes"
    assert parsed.findings[0].file == "relay/outbox.py"
    assert parsed.findings[0].category == "invariant"


def test_invalid_json_says_where():
    (problem,) = problems_of(b'{"verdict": "approve",\n "findings": [],}')
    assert problem.startswith("review.json is not valid JSON") and "line 2" in problem


def test_too_many_findings_are_refused_with_the_limit():
    (problem,) = problems_of({"verdict": "approve", "findings": [good_finding()] * 13})
    assert "13 findings" in problem and "at most 12" in problem


def test_twelve_findings_are_allowed():
    assert len(parse({"verdict": "approve", "findings": [good_finding()] * 12}).findings) == 12


def test_unknown_category_lists_the_valid_ones():
    (problem,) = problems_of({"verdict": "approve", "findings": [good_finding(category="bug")]})
    assert 'unknown category "bug"' in problem and "resource-leak" in problem


def test_every_problem_is_reported_at_once():
    problems = problems_of(
        {
            "verdict": "lgtm",
            "findings": [
                good_finding(line="77"),
                good_finding(line=True),
                good_finding(file="outbox.py"),
                good_finding(line=500),
                good_finding(severity="blocker", comment=" "),
                {"file": "relay/pool.py", "line": 3, "category": "race", "lines": 4},
            ],
            "approved": True,
        }
    )
    text = "\n".join(problems)
    assert "unknown field 'approved'" in text
    assert '"verdict" must be "approve" or "request_changes"' in text
    assert 'finding 1: line must be a whole number, not "77"' in text
    assert "finding 2: line must be a whole number, not true" in text
    assert 'finding 3: file "outbox.py" is not a file of the patched repository' in text
    assert "finding 4: relay/outbox.py has lines 1 to" in text
    assert "finding 5: severity must be one of" in text and "finding 5: comment" in text
    assert "finding 6: unknown field 'lines'" in text
    assert "finding 6: field 'severity' is missing" in text


def test_a_document_that_is_not_an_object_is_refused():
    assert "one JSON object" in problems_of([{"verdict": "approve"}])[0]


def test_findings_must_be_a_list():
    assert '"findings" must be a list' in problems_of({"verdict": "approve"})[0]


def test_the_explanation_caps_the_number_of_problems_shown():
    error = review.ReviewError([f"problem {n}" for n in range(15)])
    assert "... and 5 more problems" in error.explain()


# -- the shipped submissions score as lab.toml says ---------------------------------------


def submitted_review(name: str) -> bytes:
    """review.json as the starter, the solution or a variant (over its base) submits it."""
    if name in ("starter", "solution"):
        return SPEC.submitted_files(name)["review.json"]
    (variant,) = [v for v in SPEC.variants if v.name == name]
    return SPEC.variant_files(variant)["review.json"]


def review_f1(name: str) -> float | None:
    try:
        parsed = review.parse_review(submitted_review(name), known_files=KNOWN_FILES)
    except review.ReviewError:
        return None
    return review.score_findings(parsed.findings, KEY).f1


def test_reference_and_correct_variants_find_everything():
    for name in ("solution", "correct-synonyms", "correct-with-nits"):
        assert review_f1(name) == 1.0, name


def test_variants_of_the_test_alone_keep_the_full_review():
    for variant in SPEC.variants:
        if variant.name.startswith("test-"):
            assert review_f1(variant.name) == 1.0, variant.name


def test_wrong_variants_score_as_intended():
    assert review_f1("flag-every-line") is None
    assert review_f1("unknown-category") is None
    assert review_f1("wrong-categories") == 0.0
    assert review_f1("two-of-five") == pytest.approx(4 / 7)
    assert review_f1("shotgun-twelve") < 0.3
    assert review_f1("starter") == 0.0


# -- reading a test run's outcome ------------------------------------------------------------


def test_failing_test_names_are_read_from_unittest_output():
    output = (
        "FAIL: test_backoff (test_regression.T.test_backoff)\n"
        "ERROR: test_leak (test_regression.T.test_leak)\n"
        "FAIL: test_backoff (test_regression.T.test_backoff)\n"
        "FAIL: setUpClass (test_regression.T)\n"
    )
    source = "def test_backoff(self): ...\ndef test_leak(self): ..."
    assert regression.failing_tests(output, source) == ["test_backoff", "test_leak"]


def test_test_names_made_up_at_run_time_are_not_reported():
    output = "FAIL: test_self_pool_discard (test_regression.T)\nFAIL: test_leak (x.T)\n"
    assert regression.failing_tests(output, "def test_leak(self): ...") == ["test_leak"]


def test_describe_says_what_happened():
    assert regression.describe(0, False, False, "", "") == "passed"
    assert "did not finish" in regression.describe(None, True, False, "", "")
    assert "MB" in regression.describe(-9, False, True, "", "")
    assert regression.describe(1, False, False, "Traceback", "") == "failed (exit status 1)"
