"""Hidden checker for ai-patch-review: scores the review and runs the regression test.

Ten points: 6 for the review's findings (F1 against the key), 1 for the verdict, 2 for a
regression test that fails on the PR and passes on every correct fix, 1 more if it also
fails on at least one plausible wrong fix. The key and all the versions of the code live
here, readable by the checker alone (each version stored as the files it changes, see
versions.py); the learner's test runs as the learner uid.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import regression
import review
import versions
from downstack_harness import Grader

HERE = Path(__file__).resolve().parent
PR_VERSION = "ai-patch"
# Correct fixes: the reference and two others that differ in private details.
CORRECT = ("reference", "wheat-restructured", "wheat-sorted-pending")
# Plausible wrong fixes: each repairs four defects properly and one only in appearance.
WRONG = (
    "chaff-ack-on-give-up",
    "chaff-halved-backoff",
    "chaff-release-closed-connection",
    "chaff-relative-due-time",
)
FINDINGS_POINTS = 6.0
VERDICT_POINTS = 1.0
FAIL_TO_PASS_POINTS = 2.0
CATCHES_WRONG_FIX_POINTS = 1.0
# Stop starting new test runs after this long, so a slow test cannot run the whole
# grading past the lab's time limit; runs not started count as not passed.
TEST_BUDGET_S = 36.0


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
        result = regression.run_against(g, versions.assemble(name), source, name=name)
        print(f"{name}: {result.summary} ({time.monotonic() - started:.1f}s)", file=sys.stderr)
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

    if on_pr.timed_out:
        lines = [
            f"On the PR as submitted: {on_pr.summary}. That counts as catching it, but a "
            "test that fails fast with a clear message is a better regression test: give "
            "every wait a timeout."
        ]
    else:
        lines = [f"On the PR as submitted: {on_pr.summary}. Good, it catches the PR."]
    all_correct_pass = True
    for number, name in enumerate(CORRECT, start=1):
        result = run(name)
        if result is None:
            lines.append(f"Correct fix {number}: not run, the time for tests ran out.")
            all_correct_pass = False
            break
        lines.append(f"Correct fix {number}: {result.summary}.")
        if not result.passed:
            all_correct_pass = False
            break  # one is enough to fail the check; save the time
    if not all_correct_pass:
        lines.append(
            "A regression test must pass on every correct fix. The correct fixes behave "
            "as the PR description and docstrings promise but differ in private details "
            "(attribute names, data structures, helper methods): test through the public "
            "API, and check the documented behaviour rather than one implementation."
        )
    g.check(
        fail_to_pass,
        all_correct_pass,
        max_score=FAIL_TO_PASS_POINTS,
        output="\n".join(lines),
        tags=("testing",),
    )
    if not all_correct_pass:
        g.check(
            catches,
            False,
            max_score=CATCHES_WRONG_FIX_POINTS,
            output="Not scored: a test that fails on a correct fix cannot tell right from "
            "wrong fixes.",
            tags=("testing",),
        )
        return

    caught = ran = 0
    for name in WRONG:
        result = run(name)
        if result is None:
            break
        ran += 1
        caught += not result.passed
    output = f"Your test failed on {caught} of the {ran} plausible wrong fixes it was run on."
    if not caught:
        output += (
            " Each wrong fix repairs four defects properly and one only in appearance: it "
            "passes a test that checks the one symptom you saw, but not a test that pins "
            "down the documented behaviour completely (every documented value, where each "
            "message ends up, what state a reused resource is in)."
        )
    g.check(
        catches,
        caught > 0,
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
