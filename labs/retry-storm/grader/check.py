"""Hidden checker for retry-storm: grades diagnosis.json (part A) and policy.py (part B).

Part A replays the learner's incident with the starter's policy (in this process) and
compares the two numbers of diagnosis.json with the dashboard's. Part B runs the
learner's policy.py as two isolated learner processes, the client library and the
backend, and drives them with the simulator over pipes on visible and hidden runs
(run_plan.py: the visible runs are a preview, the hidden ones carry the weight). Every
number the grade rests on comes from this process's simulator; the reference policy
runs in-process on the very same runs, for the criteria measured against it.

The simulator and both policies are the lab's own starter/simulate.py, starter/policy.py
and solution/policy.py, which lab.toml's `[grader] include` puts beside this file: the
checker grades with exactly the code the learner was given.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "starter"))  # simulate.py, as the learner has it

from diagnosis import Graded, expected, grade_amplification, grade_second, parse  # noqa: E402
from downstack_harness import Grader  # noqa: E402
from outcomes import Outcome, measure  # noqa: E402
from policy_process import LearnerPolicy, PolicyHung  # noqa: E402
from run_plan import hidden_runs, visible_runs  # noqa: E402
from scoring import POINTS, verdicts, weighted  # noqa: E402
from simulate import ROLES, PolicyError, Result, parse_reply, shape_for, simulate  # noqa: E402

STARTER_POLICY = "starter/policy.py"
REFERENCE_POLICY = "solution/policy.py"
DEFAULT_SEED = 2718  # lab.toml's check_seed; used when no seed is given
ANSWER_WITHIN_S = 5.0  # per tick: generous, only there to stop a policy that hangs
PART_B_BUDGET_S = 90.0  # all learner runs together; the reference's need about 10 s
SECOND_POINTS = 1.5
AMPLIFICATION_POINTS = 1.5
PREVIEW_POINTS = 1.0
CHECK_NAMES = {
    "recovery": "policy.py: goodput recovers after the trigger ends",
    "amplification": "policy.py: retry amplification stays bounded under overload",
    "goodput": "policy.py: goodput against the reference's on the same runs",
    "herd": "policy.py: the batch jobs' herds are answered",
    "latency": "policy.py: calm-state latency does not regress",
}


# -- running policies --------------------------------------------------------------------


class TrustedPolicy:
    """A policy module of our own, called in-process, with the same JSON round trip."""

    def __init__(self, role: str, module) -> None:
        self.role = role
        self.policy = module.Policy()
        self.answer: dict = {}

    def post(self, message: dict) -> None:
        answer = self.policy.handle(json.loads(json.dumps(message)))
        self.answer = parse_reply(self.role, json.dumps(answer))

    def reply(self) -> dict:
        return self.answer


def load_module(relative_path: str):
    """A fresh module from a file beside this one, e.g. load_module("starter/policy.py")."""
    name = relative_path.removesuffix(".py").replace("/", "_")
    spec = importlib.util.spec_from_file_location(name, HERE / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trusted_run(module, seed: int, shape: str) -> Result:
    return simulate(seed, shape_for(shape, seed), {r: TrustedPolicy(r, module) for r in ROLES})


def learner_run(g: Grader, seed: int, shape: str) -> tuple[Outcome | None, str, bool]:
    """(what the run showed or None, what went wrong, whether the policy hung)."""
    policies: dict[str, LearnerPolicy] = {}
    try:
        for role in ROLES:
            policies[role] = LearnerPolicy(g, role, ANSWER_WITHIN_S)
        return measure(simulate(seed, shape_for(shape, seed), policies)), "", False
    except PolicyError as error:
        return None, describe_error(error, policies.get(error.role)), isinstance(error, PolicyHung)
    finally:
        for policy in policies.values():
            policy.close()


def describe_error(error: PolicyError, policy: LearnerPolicy | None) -> str:
    """What went wrong, with the end of the policy's stderr unless already quoted."""
    problem = f"The {error.role} policy {error.problem}"
    if "\n" not in problem:
        problem += "."
    tail = policy.stderr_tail() if policy is not None else ""
    if tail and tail not in problem:
        problem += f"\nIts last words on stderr:\n{tail}"
    return problem


def learner_runs(g: Grader, runs: list[tuple[int, str]]) -> tuple[list[Outcome | None], list[str]]:
    """Every run's outcome (None: not completed) and problem ("" if none), in order."""
    outcomes: list[Outcome | None] = []
    problems: list[str] = []
    started = time.monotonic()
    hung = False
    for seed, shape in runs:
        if hung:
            # A policy that hangs once would hang again: stop rather than run out the clock.
            outcome, problem = None, "not run: the policy hung on an earlier run"
        elif time.monotonic() - started > PART_B_BUDGET_S:
            outcome, problem = None, f"not run: the {PART_B_BUDGET_S:g} s for all runs are used up"
        else:
            outcome, problem, hung = learner_run(g, seed, shape)
        outcomes.append(outcome)
        problems.append(f"{shape} seed {seed}: {problem}" if problem else "")
    print(f"part B took {time.monotonic() - started:.1f} s", file=sys.stderr)
    return outcomes, problems


# -- the checks --------------------------------------------------------------------------


def check_diagnosis(g: Grader, seed: int, starter) -> None:
    want = expected(trusted_run(starter, seed, "incident"))
    answers, problem = parse(g.submission_file("diagnosis.json"))
    graders = (
        ("metastable_second", grade_second, SECOND_POINTS),
        ("amplification", grade_amplification, AMPLIFICATION_POINTS),
    )
    for name, grade, points in graders:
        graded = grade(answers, want, points) if answers is not None else Graded(0, False, problem)
        g.check(
            f"diagnosis.json: the {name.replace('_', ' ')} of seed {seed}'s incident",
            graded.passed,
            score=graded.score,
            max_score=points,
            output=graded.output,
            # The answer is the learner's seed's; `labs check --seeds` knows not to expect
            # the solution's diagnosis.json, written for check_seed, to fit other seeds.
            tags=("seed-answer",),
        )


def check_preview(g: Grader, runs, mine, theirs, problems: list[str]) -> None:
    found = verdicts(runs, mine, theirs)
    credit = weighted(found)
    lines = [f"The runs you can replay ({', '.join(f'--shape {s} --seed {n}' for n, s in runs)}):"]
    for name, verdict in found.items():
        lines.append(f"{name} ({POINTS[name]:g} of the hidden points):")
        lines += [f"  {line}" for line in verdict.lines]
    lines += [problem for problem in problems if problem]
    lines.append(
        "These runs are a preview: hidden runs on seeds and shapes you cannot replay carry "
        "most of part B's points, with the same criteria."
    )
    g.check(
        "policy.py: every criterion on the runs you can replay (a preview)",
        credit == 1.0,
        score=round(PREVIEW_POINTS * credit, 3),
        max_score=PREVIEW_POINTS,
        output="\n".join(lines),
    )


def check_hidden(g: Grader, runs, mine, theirs, problems: list[str]) -> None:
    found = verdicts(runs, mine, theirs)
    for name, verdict in found.items():
        g.check(
            CHECK_NAMES[name],
            verdict.credit == 1.0,
            score=round(POINTS[name] * verdict.credit, 3),
            max_score=POINTS[name],
            output="\n".join([*verdict.lines, *(problem for problem in problems if problem)]),
            visibility="hidden",
        )


def main() -> None:
    g = Grader()
    seed = int(os.environ.get("DOWNSTACK_SEED", DEFAULT_SEED))
    starter = load_module(STARTER_POLICY)
    reference = load_module(REFERENCE_POLICY)
    check_diagnosis(g, seed, starter)

    visible, hidden = visible_runs(seed), hidden_runs(seed)
    theirs = [measure(trusted_run(reference, *run)) for run in visible + hidden]
    mine, problems = learner_runs(g, visible + hidden)
    shown = len(visible)
    check_preview(g, visible, mine[:shown], theirs[:shown], problems[:shown])
    check_hidden(g, hidden, mine[shown:], theirs[shown:], problems[shown:])
    g.emit()


if __name__ == "__main__":
    main()
