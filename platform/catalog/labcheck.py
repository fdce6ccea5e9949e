"""`labs check`: prove a lab grades right by running known submissions in the real sandbox.

The reference must get full marks, the starter and every variant must land in their
declared ranges, and every run of the same submission must give exactly the same
result, check by check. A seeded lab's reference and correct variants can also be tried
on further seeds, derived from its check_seed, each of which must give full marks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import graders
from catalog.labfiles import Expectation, LabSpec
from catalog.sandbox import checker_inputs, sandbox_options

# A check with this tag grades an answer written for one seed (the learner's own data):
# the solution's answer is right for check_seed only, so --seeds leaves those checks out.
SEED_ANSWER_TAG = "seed-answer"
# One check of one run: its position and name, then what it scored and its status.
CheckKey = tuple[int, str]
CheckResult = tuple[float, str]


@dataclass
class CaseOutcome:
    name: str
    expected: str
    expectation: Expectation | None = None
    # The results document's max_score, from the last run that had one.
    max_score: float | None = None
    scores: list[float | None] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    # Per run, every check's result; None for a run without a results document.
    checks: list[dict[CheckKey, CheckResult] | None] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _score_of(outcome: graders.Outcome) -> tuple[float | None, str]:
    """The score (None for a grader error) and why there is no full result, if so."""
    if outcome.is_grader_error:
        return None, f"grader error: {outcome.error}"
    return outcome.score, outcome.detail


def _checks_of(outcome: graders.Outcome) -> dict[CheckKey, CheckResult] | None:
    """Every check's result (a time-out's partial ones included); None without checks."""
    if not outcome.tests:
        return None
    return {
        (position, test.name): (test.score, test.status)
        for position, test in enumerate(outcome.tests)
    }


def further_seeds(check_seed: int, count: int) -> list[int]:
    """`count` seeds derived from check_seed alone, in the range learners' seeds take.

    The same lab always gets the same seeds, so a failure can be reproduced with
    `labs grade --seed`, and none of them is the check_seed the lab was written for.
    """
    seeds: list[int] = []
    index = 0
    while len(seeds) < count:
        index += 1
        digest = hashlib.sha256(f"downstack-check-seed:{check_seed}:{index}".encode()).digest()
        seed = int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
        if seed != check_seed and seed not in seeds:
            seeds.append(seed)
    return seeds


def lab_check(
    spec: LabSpec,
    *,
    runs: int = 3,
    seeds: int = 0,
    progress: Callable[[str], None] = lambda line: None,
) -> list[CaseOutcome]:
    """Run every known submission of a lab `runs` times; each outcome lists its problems.

    With `seeds`, a seeded lab's reference and its alternative correct solutions (the
    variants whose range reaches full marks) are also graded once on each of that many
    further seeds (see further_seeds), and must get full marks on every check except
    those tagged SEED_ANSWER_TAG (answers the solution wrote for check_seed alone); an
    unseeded lab has no seeds to vary.
    """
    checker = checker_inputs(spec, spec.path, spec.include)
    options = sandbox_options(spec)
    env = {"DOWNSTACK_SEED": str(spec.check_seed)} if spec.seeded else {}

    cases: list[tuple[str, dict[str, bytes], Expectation | None]] = [
        ("reference", spec.submitted_files("solution"), None),
        ("starter", spec.submitted_files("starter"), spec.starter),
    ]
    for variant in spec.variants:
        cases.append((f"variant {variant.name}", spec.variant_files(variant), variant))

    outcomes = []
    for name, files, expectation in cases:
        outcome = _run_case(
            name, files, expectation, runs, checker, options, env, partial=spec.partial_on_timeout
        )
        progress(_describe(outcome))
        outcomes.append(outcome)
    progress(closest_cheat(outcomes))

    if seeds and spec.seeded:
        chosen = further_seeds(spec.check_seed, seeds)
        progress(
            f"  reference and correct variants on {seeds} further seed(s) from check_seed "
            f"{spec.check_seed}: " + ", ".join(map(str, chosen))
        )
        # The reference and every alternative correct solution (a variant whose range
        # reaches full marks): bounds fitted to the reference alone would fail those.
        full = _full_marks(outcomes)
        correct = [
            (name, files)
            for name, files, expectation in cases
            if expectation is None
            or (
                expectation is not spec.starter
                and full is not None
                and graders.is_full_marks(expectation.max_score, full)
            )
        ]
        for seed in chosen:
            seed_env = {**env, "DOWNSTACK_SEED": str(seed)}
            for name, files in correct:
                outcome = _run_case(
                    f"{name}, seed {seed}",
                    files,
                    None,
                    1,
                    checker,
                    options,
                    seed_env,
                    skip_tag=SEED_ANSWER_TAG,
                    partial=spec.partial_on_timeout,
                )
                progress(_describe(outcome))
                outcomes.append(outcome)
    elif seeds:
        progress("  --seeds: this lab is not seeded, so there are no seeds to vary")
    return outcomes


def _run_case(
    name: str,
    files: dict[str, bytes],
    expectation: Expectation | None,
    runs: int,
    checker: dict[str, bytes],
    options: dict,
    env: dict[str, str],
    *,
    skip_tag: str | None = None,
    partial: bool = True,
) -> CaseOutcome:
    if expectation is not None:
        expected = f"{expectation.min_score:g}..{expectation.max_score:g}"
    else:
        expected = "full marks" if skip_tag is None else f"full marks outside {skip_tag} checks"
    outcome = CaseOutcome(name=name, expected=expected, expectation=expectation)
    for _ in range(runs):
        result = graders.run(checker=checker, submission=files, env=env, **options)
        verdict = graders.Outcome.of(result, partial_on_timeout=partial)
        score, reason = _score_of(verdict)
        if verdict.max_score is not None:
            outcome.max_score = verdict.max_score
        outcome.scores.append(score)
        outcome.reasons.append(reason)
        outcome.seconds.append(result.duration_s)
        outcome.checks.append(_checks_of(verdict))
        if score is None:
            outcome.problems.append(reason)
        elif expectation is None and skip_tag is not None and result.results is not None:
            missed = [
                f"{t.name!r} ({t.score:g}/{t.max_score:g})"
                for t in result.results.tests
                if skip_tag not in t.tags and t.score < graders.full_marks_floor(t.max_score)
            ]
            if missed:
                outcome.problems.append(
                    f"expected full marks on every check not tagged {skip_tag}; "
                    "missed " + ", ".join(missed)
                )
        elif expectation is None:
            full = result.results.max_score if result.results else None
            if not graders.is_full_marks(score, full):
                outcome.problems.append(f"got {score:g}, expected full marks ({reason})")
        elif not _within(score, expectation):
            outcome.problems.append(f"got {score:g}, expected {expected}")
    outcome.problems += _nondeterminism(outcome)
    return outcome


def _full_marks(outcomes: list[CaseOutcome]) -> float | None:
    """The reference's maximum score: what full marks are for this lab."""
    return next((o.max_score for o in outcomes if o.expectation is None), None)


def closest_cheat(outcomes: list[CaseOutcome]) -> str:
    """One line naming the wrong submission that came closest to full marks.

    A wrong submission is the starter or a variant whose range stops short of full marks
    (the reference's maximum). The line gives its best score against full marks and
    against its own ceiling, so an author sees how near a cheat or half-fix comes, and
    how much room its range leaves.
    """
    full = _full_marks(outcomes)
    if full is None or full <= 0:
        return "  closest wrong submission: none scored (no full marks to compare with)"
    best: tuple[float, str, Expectation] | None = None
    for outcome in outcomes:
        expectation = outcome.expectation
        if expectation is None or graders.is_full_marks(expectation.max_score, full):
            continue
        scores = [s for s in outcome.scores if s is not None]
        if scores and (best is None or max(scores) > best[0]):
            best = (max(scores), outcome.name, expectation)
    if best is None:
        return "  closest wrong submission: none (every variant is a correct one)"
    score, name, expectation = best
    ceiling = expectation.max_score
    slack = graders.score_tolerance(ceiling)
    if score > ceiling + slack:
        room = f"{score - ceiling:g} above its ceiling"
    elif score < ceiling - slack:
        room = f"{ceiling - score:g} below its ceiling"
    else:
        room = "at its ceiling"
    return (
        f"  closest wrong submission: {name} reached {score:g} of {full:g} "
        f"({score / full:.0%} of full marks; its range "
        f"{expectation.min_score:g}..{ceiling:g}, {room})"
    )


def _within(score: float, expectation: Expectation) -> bool:
    slack = graders.score_tolerance(expectation.max_score)
    return expectation.min_score - slack <= score <= expectation.max_score + slack


def _nondeterminism(outcome: CaseOutcome) -> list[str]:
    """What changed between runs of one submission, named check by check."""
    if len(outcome.checks) < 2:
        return []
    problems = []
    if len(set(outcome.scores)) > 1:
        problems.append(f"scores differ between runs: {outcome.scores}")
    documents = [checks for checks in outcome.checks if checks is not None]
    if 0 < len(documents) < len(outcome.checks):
        missing = [i + 1 for i, checks in enumerate(outcome.checks) if checks is None]
        problems.append(
            "not deterministic: run(s) "
            + ", ".join(map(str, missing))
            + " gave no results document, the others did"
        )
    if len({tuple(checks) for checks in documents}) > 1:
        problems.append("not deterministic: the runs reported different lists of checks")
        return problems
    changed = []
    for key in documents[0] if documents else ():
        seen = [checks[key] for checks in documents]
        if len(set(seen)) > 1:
            scores = ", ".join(f"{score:g}" for score, _ in seen)
            statuses = [status for _, status in seen]
            what = f"scored {scores}"
            if len(set(statuses)) > 1:
                what += f" ({', '.join(statuses)})"
            changed.append(f"{key[1]!r} {what}")
    if changed:
        problems.append("not deterministic: check " + "; check ".join(changed))
    return problems


def _describe(outcome: CaseOutcome) -> str:
    scores = ", ".join("error" if s is None else f"{s:g}" for s in outcome.scores)
    times = ", ".join(f"{s:.1f}s" for s in outcome.seconds)
    verdict = "ok" if outcome.ok else "FAIL: " + "; ".join(dict.fromkeys(outcome.problems))
    return (
        f"  {outcome.name:<28} expected {outcome.expected:<12} got [{scores}]  "
        f"took [{times}]  {verdict}"
    )
