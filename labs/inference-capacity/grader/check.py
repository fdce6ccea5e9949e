"""The hidden checker for inference-capacity: grades plan.json on days of traffic.

plan.json is data, not code: nothing of the learner's runs here. The checker reads it
with simulate.py's own rules (strictly: a plan that breaks one earns nothing and is
told which), then replays it with simulate.py's queueing model on the learner's own
day (the preview, which the learner can replay with `simulate.py --plan`) and on
hidden days drawn from a salted seed (scoring.py). Every number comes from this side:
the traces, the replays, and the optimum each day's cost is measured against
(optimum.py), searched for on all of those days together.

The simulator and the benchmark table are the lab's own starter/simulate.py and
starter/benchmarks.csv, which lab.toml's `[grader] include` puts beside this file: the
checker grades with exactly the model the learner was given.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "starter"))  # simulate.py, as the learner has it

from downstack_harness import Grader  # noqa: E402
from optimum import optimum  # noqa: E402
from scoring import (  # noqa: E402
    HIDDEN_POINTS,
    PREVIEW_POINTS,
    hidden_seeds,
    hour_table,
    judge_day,
)
from simulate import PLAN_EXAMPLE, PlanError, load_benchmarks, make_trace, parse_plan, replay  # noqa: E402

DEFAULT_SEED = 1  # lab.toml's check_seed; used when no seed is given
PREVIEW_NAME = "plan.json on your own day (a preview: `simulate.py --seed SEED --plan plan.json`)"


def hidden_name(number: int) -> str:
    return f"plan.json on hidden day {number}: the SLO holds and the cost is near the optimum"


def main() -> None:
    g = Grader()
    seed = int(os.environ.get("DOWNSTACK_SEED", DEFAULT_SEED))
    table = load_benchmarks()
    seeds = [seed, *hidden_seeds(seed)]
    hidden_each = HIDDEN_POINTS / (len(seeds) - 1)

    data = g.submission_file("plan.json")
    try:
        if data is None:
            raise PlanError(f"plan.json is missing: hand in one JSON object such as {PLAN_EXAMPLE}")
        plan = parse_plan(data, table)
    except PlanError as error:
        problem = f"plan.json was not graded: {error}"
        g.check(PREVIEW_NAME, False, score=0, max_score=PREVIEW_POINTS, output=problem)
        for number in range(1, len(seeds)):
            g.check(
                hidden_name(number),
                False,
                score=0,
                max_score=hidden_each,
                output=problem,
                visibility="hidden",
            )
        g.emit()
        return

    days = [make_trace(day_seed) for day_seed in seeds]
    best = optimum(days, table)
    for number, (day, best_day) in enumerate(zip(days, best.days, strict=True)):
        served = replay(day, plan, table)
        verdict = judge_day(served, best_day.cost)
        points = PREVIEW_POINTS if number == 0 else hidden_each
        which = f"your day (seed {seed})" if number == 0 else f"hidden day {number}"
        lines = [
            verdict.summary,
            f"Per hour of {which}, {plan.instance} at batch {plan.batch_size}, beside the "
            "optimum on the same day:",
            hour_table(served, best_day),
        ]
        if number == 0:
            lines.append(
                f"This day is a preview worth {PREVIEW_POINTS:g} points: {len(seeds) - 1} "
                "hidden days of the same shape (other peaks, noise and prompt lengths) carry "
                f"the other {HIDDEN_POINTS:g}, with the same rules."
            )
        g.check(
            PREVIEW_NAME if number == 0 else hidden_name(number),
            verdict.credit == 1.0,
            score=points * verdict.credit,
            max_score=points,
            output="\n".join(lines),
            visibility="visible" if number == 0 else "hidden",
        )
    print(f"optimum: {best.plan} costs {[round(c, 2) for c in best.costs]}", file=sys.stderr)
    g.emit()


if __name__ == "__main__":
    main()
