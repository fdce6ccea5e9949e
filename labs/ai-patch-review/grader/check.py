"""Hidden checker for ai-patch-review: scores the review and runs the regression test.

Ten points: 6 for the review's findings (F1 against the key), 1 for the verdict, 2 for a
regression test that fails on the PR, and on the PR reworded, and passes on every correct
fix, 1 more if it also fails on at least one plausible wrong fix. The key and all the
versions of the code live here, readable by the checker alone (each version stored as
the files it changes, see versions.py); the learner's test runs as the learner uid.

The test can tell versions apart only by running them, and must not be able to tell
them apart by anything else: the PR it was given is recognisable by its text, so the
PR reworded (the same defects in other words) counts as much as the PR; the hidden
versions run in an order the test cannot predict, so that a test that keeps notes from
one run to the next learns nothing from counting runs; and what the learner reads about
a hidden run is passed or failed, nothing the test chose (regression.describe).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from pathlib import Path

import regression
import review
import versions
from downstack_harness import Grader

HERE = Path(__file__).resolve().parent
PR_VERSION = "ai-patch"
# The PR with the same five defects in other words (other private names, other wording,
# the same behaviour): a test that recognises the PR's text passes on it.
PR_REWORDED = "ai-patch-reworded"
# Correct fixes: the reference and two others that differ in private details.
CORRECT = ("reference", "wheat-restructured", "wheat-sorted-pending")
# Plausible wrong fixes: each repairs four defects properly and one only in appearance.
WRONG = (
    "chaff-ack-on-give-up",
    "chaff-halved-backoff",
    "chaff-release-closed-connection",
    "chaff-relative-due-time",
)
HIDDEN = (PR_REWORDED, *CORRECT, *WRONG)
# Mixed into the seed of the hidden versions' order, so that the order follows from the
# test's text (the same test always meets the versions in the same order, and so gets
# the same grade) but cannot be worked out from it by anyone without this file.
ORDER_SALT = b"ai-patch-review: hidden order, v1"
FINDINGS_POINTS = 6.0
VERDICT_POINTS = 1.0
FAIL_TO_PASS_POINTS = 2.0
CATCHES_WRONG_FIX_POINTS = 1.0
# Stop starting new test runs after this long, so a slow test cannot run the whole
# grading past the lab's time limit (lab.toml); runs not started count as not passed.
# Every run is stopped after regression.RUN_TIMEOUT_S, so all nine fit with room to spare
# even on a loaded machine: the budget is a guard, not a rule a test can meet or miss.
TEST_BUDGET_S = 66.0


def patched_files() -> dict[str, int]:
    """Every file of the repository after the PR, with its number of lines."""
    return {
        path: len(data.decode().splitlines())
        for path, data in sorted(versions.assemble(PR_VERSION).items())
        if path.endswith(".py")
    }


def grade_review(g: Grader) -> None:
    raw = g.submission_file("review.json")
    if raw is None:
        g.check("review: findings", False, max_score=FINDINGS_POINTS, output="No review.json.")
        g.check("review: verdict", False, max_score=VERDICT_POINTS, output="No review.json.")
        return
    try:
        parsed = review.parse_review(raw, known_files=patched_files())
    except review.ReviewError as exc:
        g.check("review: findings", False, max_score=FINDINGS_POINTS, output=exc.explain())
        g.check(
            "review: verdict",
            False,
            max_score=VERDICT_POINTS,
            output="Not scored: review.json has to be valid first (see above).",
        )
        return
    key = review.load_key(json.loads((HERE / "review_key.json").read_text()))
    score = review.score_findings(parsed.findings, key)
    print(f"finding outcomes: {score.finding_outcomes}", file=sys.stderr)
    g.check(
        "review: findings match the seeded defects (F1)",
        score.f1 == 1.0,
        score=round(FINDINGS_POINTS * score.f1, 2),
        max_score=FINDINGS_POINTS,
        output=review.explain_score(score),
        tags=("code-review",),
    )
    approve = parsed.verdict == "approve"
    g.check(
        "review: verdict",
        not approve,
        max_score=VERDICT_POINTS,
        output=(
            "request_changes: right, this PR must not be merged as it is."
            if not approve
            else "approve means: ship it as it is. Would you page yourself for what this PR "
            "does to the outbox on a bad night?"
        ),
        tags=("code-review",),
    )


def hidden_order(test_source: bytes) -> list[str]:
    """The hidden versions in the order a test is run on them: fixed for one test's text."""
    order = list(HIDDEN)
    random.Random(hashlib.sha256(ORDER_SALT + test_source).digest()).shuffle(order)
    return order


def grade_regression_test(g: Grader) -> None:
    source = g.submission_file(regression.TEST_FILE)
    fail_to_pass = "regression test: fails on the PR, passes on correct fixes"
    catches = "regression test: fails on a plausible wrong fix"
    if not source or not source.strip():
        g.check(fail_to_pass, False, max_score=FAIL_TO_PASS_POINTS, output="No test submitted.")
        g.check(catches, False, max_score=CATCHES_WRONG_FIX_POINTS, output="No test submitted.")
        return
    started = time.monotonic()

    def run(name: str) -> regression.TestRun | None:
        if time.monotonic() - started > TEST_BUDGET_S:
            return None
        result = regression.run_against(
            g, versions.assemble(name), source, name=name, hidden=name != PR_VERSION
        )
        elapsed = time.monotonic() - started
        print(f"{name}: {result.staff_summary} ({elapsed:.1f}s)", file=sys.stderr)
        return result

    on_pr = run(PR_VERSION)
    assert on_pr is not None
    if on_pr.passed:
        g.check(
            fail_to_pass,
            False,
            max_score=FAIL_TO_PASS_POINTS,
            output="On the PR as submitted your test passed, so it would not have caught "
            "anything. A regression test must fail on the code it guards against. "
            "Its output:\n" + on_pr.output_tail,
            tags=("testing",),
        )
        g.check(
            catches,
            False,
            max_score=CATCHES_WRONG_FIX_POINTS,
            output="Not run: the test has to fail on the PR first.",
            tags=("testing",),
        )
        return

    # Run the hidden versions until the first result that settles both checks at zero
    # (the PR reworded passes, or a correct fix fails). For a test whose result on a
    # version does not depend on what ran before, the grade is the same in any order:
    # only how many versions are run, and so the time, depends on it.
    results: dict[str, regression.TestRun] = {}
    out_of_time = False
    for name in hidden_order(source):
        result = run(name)
        if result is None:
            out_of_time = True
            break
        results[name] = result
        if (name == PR_REWORDED and result.passed) or (name in CORRECT and not result.passed):
            break

    def caught(name: str) -> bool:
        result = results.get(name)
        return result is not None and not result.passed

    def passed(name: str) -> bool:
        result = results.get(name)
        return result is not None and result.passed

    def said(name: str) -> str:
        if name in results:
            return results[name].summary
        if out_of_time:
            return "not run, the time for tests ran out"
        return "not run: an earlier result already settled this check"

    if on_pr.timed_out:
        lines = [
            f"On the PR as submitted: {on_pr.summary}. That counts as catching it, but a "
            "test that fails fast with a clear message is a better regression test: give "
            "every wait a timeout."
        ]
    else:
        lines = [f"On the PR as submitted: {on_pr.summary}. Good, it catches the PR."]
    lines.append(
        "On the PR reworded (a hidden version with the same defects in other words: "
        f"other private names, other wording, the same behaviour): {said(PR_REWORDED)}."
    )
    if passed(PR_REWORDED):
        lines.append(
            "Your test tells the PR apart from correct code by its text, not by what it "
            "does: it must fail wherever the defects are, however the code is written."
        )
    lines.extend(
        f"Correct fix {number}: {said(name)}." for number, name in enumerate(CORRECT, start=1)
    )
    all_correct_pass = all(passed(name) for name in CORRECT)
    if any(caught(name) for name in CORRECT):
        lines.append(
            "A regression test must pass on every correct fix. The correct fixes behave "
            "as the PR description and docstrings promise but differ in private details "
            "(attribute names, data structures, helper methods): test through the public "
            "API, and check the documented behaviour rather than one implementation."
        )
    test_is_valid = caught(PR_REWORDED) and all_correct_pass
    g.check(
        fail_to_pass,
        test_is_valid,
        max_score=FAIL_TO_PASS_POINTS,
        output="\n".join(lines),
        tags=("testing",),
    )
    if not test_is_valid:
        g.check(
            catches,
            False,
            max_score=CATCHES_WRONG_FIX_POINTS,
            output="Not scored: a test that fails on a correct fix, or passes on the PR "
            "reworded, cannot tell right from wrong fixes.",
            tags=("testing",),
        )
        return

    ran = sum(name in results for name in WRONG)
    failed_on = sum(caught(name) for name in WRONG)
    output = f"Your test failed on {failed_on} of the {ran} plausible wrong fixes it was run on."
    if ran < len(WRONG):
        output += f" {len(WRONG) - ran} were not run: the time for tests ran out."
    if not failed_on:
        output += (
            " Each wrong fix repairs four defects properly and one only in appearance: it "
            "passes a test that checks the one symptom you saw, but not a test that pins "
            "down the documented behaviour completely (every documented value, where each "
            "message ends up, what state a reused resource is in)."
        )
    g.check(
        catches,
        failed_on > 0,
        max_score=CATCHES_WRONG_FIX_POINTS,
        output=output,
        tags=("testing",),
    )


def main() -> None:
    g = Grader()
    grade_review(g)
    grade_regression_test(g)
    g.emit()


if __name__ == "__main__":
    main()
