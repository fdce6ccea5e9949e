"""`labs check`: prove a lab grades right by running known submissions in the real sandbox.

The reference must get full marks, the starter and every variant must land in their
declared ranges, and every run of the same submission must give exactly the same score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import graders
from catalog.labfiles import Expectation, LabSpec
from catalog.sandbox import sandbox_options


@dataclass
class CaseOutcome:
    name: str
    expected: str
    scores: list[float | None] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _score_of(result: graders.RunResult) -> tuple[float | None, str]:
    if result.results is not None:
        return result.results.score, ""
    if result.error:
        return None, f"grader error: {result.error}"
    # A learner's program that ran out of time or memory is a score of zero.
    return 0.0, result.failure_reason() or "no result"


def lab_check(
    spec: LabSpec, *, runs: int = 3, progress: Callable[[str], None] = lambda line: None
) -> list[CaseOutcome]:
    """Run every known submission of a lab `runs` times; each outcome lists its problems."""
    checker = spec.files("grader")
    starter = {name: data for name, data in spec.files("starter").items() if name in spec.submit}
    solution = {name: data for name, data in spec.files("solution").items() if name in spec.submit}
    options = sandbox_options(spec)
    env = {"DOWNSTACK_SEED": str(spec.check_seed)} if spec.seeded else {}

    cases: list[tuple[str, dict[str, bytes], Expectation | None]] = [
        ("reference", solution, None),
        ("starter", starter, spec.starter),
    ]
    for variant in spec.variants:
        files = dict(starter)
        files.update(spec.files(f"variants/{variant.name}"))
        cases.append((f"variant {variant.name}", files, variant))

    outcomes = []
    for name, files, expectation in cases:
        expected = (
            "full marks"
            if expectation is None
            else f"{expectation.min_score:g}..{expectation.max_score:g}"
        )
        outcome = CaseOutcome(name=name, expected=expected)
        for _ in range(runs):
            result = graders.run(checker=checker, submission=files, env=env, **options)
            score, reason = _score_of(result)
            outcome.scores.append(score)
            outcome.reasons.append(reason)
            outcome.seconds.append(result.duration_s)
            if score is None:
                outcome.problems.append(reason)
            elif expectation is None:
                full = result.results.max_score if result.results else None
                if full is None or abs(score - full) > 1e-9:
                    outcome.problems.append(f"got {score:g}, expected full marks ({reason})")
            elif not expectation.min_score - 1e-9 <= score <= expectation.max_score + 1e-9:
                outcome.problems.append(f"got {score:g}, expected {expected}")
        if len(set(outcome.scores)) > 1:
            outcome.problems.append(f"scores differ between runs: {outcome.scores}")
        progress(_describe(outcome))
        outcomes.append(outcome)
    return outcomes


def _describe(outcome: CaseOutcome) -> str:
    scores = ", ".join("error" if s is None else f"{s:g}" for s in outcome.scores)
    slowest = max(outcome.seconds) if outcome.seconds else 0.0
    verdict = "ok" if outcome.ok else "FAIL: " + "; ".join(dict.fromkeys(outcome.problems))
    return (
        f"  {outcome.name:<28} expected {outcome.expected:<12} got [{scores}]  "
        f"slowest {slowest:.1f}s  {verdict}"
    )
