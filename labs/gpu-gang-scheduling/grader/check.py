"""Hidden checker for gpu-gang-scheduling: grades diagnosis.json (part A) and scheduler.py
(part B).

Part A replays the learner's incident with the starter's scheduler (in this process) up
to its deadlock and compares diagnosis.json with the gang it names and the pods that
hold it hostage. Part B runs the learner's scheduler.py as an isolated learner process,
one per trace, and drives it with the simulator over pipes: the learner's own incident
as a preview, and hidden traces on salted seeds (scoring.py). Every binding it answers
is validated by this process's simulator, which refuses what the cluster cannot do and
counts what a gang scheduler must not do; every number the grade rests on comes from
here. The reference scheduler runs in-process on the same traces, for the measures
compared with it.

The simulator and both schedulers are the lab's own starter/cluster.py,
starter/scheduler.py and solution/scheduler.py, which lab.toml's `[grader] include`
puts beside this file: the checker grades with exactly the model the learner was given.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "starter"))  # cluster.py, as the learner has it

from cluster import Result, SchedulerError, make_trace, simulate  # noqa: E402
from diagnosis import (  # noqa: E402
    HOLDER_POINTS,
    PENDING_POINTS,
    Graded,
    grade_holders,
    grade_pending,
    parse,
)
from downstack_harness import Grader  # noqa: E402
from scheduler_process import LearnerScheduler, SchedulerHung  # noqa: E402
from scoring import hidden_runs, verdict, visible_runs  # noqa: E402

STARTER_SCHEDULER = "starter/scheduler.py"
REFERENCE_SCHEDULER = "solution/scheduler.py"
DEFAULT_SEED = 4242  # lab.toml's check_seed; used when no seed is given
ANSWER_WITHIN_S = 5.0  # per message: generous, only there to stop a scheduler that hangs
PART_B_BUDGET_S = 40.0  # all learner runs together; the reference's need about a second
PREVIEW_POINTS = 1.0
HIDDEN_POINTS = 2.0  # per hidden trace


class TrustedScheduler:
    """A scheduler module of our own, called in-process, with the same JSON round trip."""

    def __init__(self, module) -> None:
        self.session = module.Session()

    def ask(self, message: dict) -> object:
        return json.loads(json.dumps(self.session.handle(json.loads(json.dumps(message)))))


def load_module(relative_path: str):
    """A fresh module from a file beside this one, e.g. load_module("starter/scheduler.py")."""
    name = relative_path.removesuffix(".py").replace("/", "_")
    spec = importlib.util.spec_from_file_location(name, HERE / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trusted_run(module, seed: int, trace: str) -> Result:
    return simulate(make_trace(seed, trace), TrustedScheduler(module))


def learner_run(
    g: Grader, seed: int, trace: str, stop_at: float
) -> tuple[Result | None, str, bool]:
    """(the run, or None; what went wrong; whether the scheduler hung or ran out of time)."""
    scheduler = None
    try:
        scheduler = LearnerScheduler(g, ANSWER_WITHIN_S, stop_at)
        return simulate(make_trace(seed, trace), scheduler), "", False
    except SchedulerError as error:
        problem = f"the scheduler {error}"
        tail = scheduler.stderr_tail() if scheduler is not None else ""
        if tail and tail not in problem:
            problem += f"\nIts last words on stderr:\n{tail}"
        return None, problem, isinstance(error, SchedulerHung)
    finally:
        if scheduler is not None:
            scheduler.close()


def learner_runs(g: Grader, runs: list[tuple[int, str]]) -> list[tuple[Result | None, str]]:
    done: list[tuple[Result | None, str]] = []
    started = time.monotonic()
    stop_at = started + PART_B_BUDGET_S
    hung = False
    for seed, trace in runs:
        if hung:
            # A scheduler that hangs once would hang again: stop rather than run out the clock.
            done.append(
                (None, "not run: the scheduler hung or ran out of time on an earlier trace")
            )
        else:
            result, problem, hung = learner_run(g, seed, trace, stop_at)
            done.append((result, problem))
    print(f"part B took {time.monotonic() - started:.1f} s", file=sys.stderr)
    return done


# -- the checks --------------------------------------------------------------------------


def check_diagnosis(g: Grader, seed: int, starter) -> None:
    result = trusted_run(starter, seed, "incident")
    deadlock = result.deadlock
    if deadlock is None:
        # The starter deadlocks on every incident trace (a unit test checks many seeds).
        raise RuntimeError(f"seed {seed}: the starter's incident did not deadlock")
    answers, problem = parse(g.submission_file("diagnosis.json"))
    if answers is None:
        pending = holders = Graded(0.0, False, problem)
    else:
        pending = grade_pending(answers, deadlock.gang, deadlock.cycle)
        holders = grade_holders(answers, deadlock.holders, deadlock.gang, deadlock.cycle)
    for name, graded, points in (
        (
            f"diagnosis.json: the gang the deadlock of seed {seed}'s incident names",
            pending,
            PENDING_POINTS,
        ),
        ("diagnosis.json: the pods that hold its GPUs hostage", holders, HOLDER_POINTS),
    ):
        g.check(
            name,
            graded.passed,
            score=graded.score,
            max_score=points,
            output=graded.output,
            # The answer is the learner's seed's; `labs check --seeds` knows not to expect
            # the solution's diagnosis.json, written for check_seed, to fit other seeds.
            tags=("seed-answer",),
        )


def check_runs(g: Grader, reference, visible, hidden) -> None:
    runs = visible + hidden
    theirs = [trusted_run(reference, seed, trace) for seed, trace in runs]
    mine = learner_runs(g, runs)
    for k, ((seed, trace), (result, problem), ref) in enumerate(
        zip(runs, mine, theirs, strict=True)
    ):
        found = verdict(result, ref, problem)
        if k < len(visible):
            name = "scheduler.py: your seed's incident trace (a preview)"
            lines = [f"python3 simulate.py --seed {seed} --trace {trace}:", *found.lines]
            lines.append(
                "This trace is a preview: hidden traces on seeds you cannot replay (an "
                "incident, a mig-heavy and a quota-burst trace) carry most of part B's points."
            )
            points, visibility = PREVIEW_POINTS, "visible"
        else:
            name = f"scheduler.py: a hidden {trace} trace"
            lines = list(found.lines)
            points, visibility = HIDDEN_POINTS, "hidden"
        g.check(
            name,
            found.credit == 1.0,
            score=round(points * found.credit, 3),
            max_score=points,
            output="\n".join(lines),
            visibility=visibility,
        )


def main() -> None:
    g = Grader()
    seed = int(os.environ.get("DOWNSTACK_SEED", DEFAULT_SEED))
    check_diagnosis(g, seed, load_module(STARTER_SCHEDULER))
    check_runs(g, load_module(REFERENCE_SCHEDULER), visible_runs(seed), hidden_runs(seed))
    g.emit()


if __name__ == "__main__":
    main()
