"""The scores and the feedback, from what the checker saw: the README's formulas.

Part A, schedule.json (2 points). A schedule that breaks an invariant of the learner's
incident, run with the starter's cache.py, earns

    points = 2 x max(0.5, 1 - 0.15 x (preemptions - fewest))

where `fewest` is the fewest preemptions any failing schedule of that incident has,
which the checker finds by searching every schedule with bound 0, then 1, and so on.
Each preemption more than needed costs 0.3 points, down to half marks; a schedule that
cannot be followed, or that runs to its end with every invariant intact, earns nothing.

Part B, cache.py (8 points), by exhaustive search of every schedule with at most BOUND
preemptions and by solo runs:

    incident   1 x [every schedule of the learner's incident passes] x contract
    hidden     3 x (share of hidden incidents whose every schedule passes) x contract
    contract   1 x [the four rules of the cache contract hold] x all safe
    products   3 x (share of the stops at which the other product's call finished
                    on its own) x contract x all safe

where `contract` is 1 when the cache keeps all four rules and 0 otherwise (a cache that
never caches cannot serve a stale price), and `all safe` is 1 when every incident, the
learner's and the hidden ones, passes. Scores are rounded to two decimals.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios import BOUND, Wait
from scheduler import Run, thread_name

SCHEDULE_POINTS = 2.0
EXTRA_PREEMPTION_COST = 0.15  # of part A's points, per preemption beyond the fewest
SCHEDULE_FLOOR = 0.5  # a failing schedule, however long, keeps this share
INCIDENT_POINTS = 1.0
HIDDEN_POINTS = 3.0
CONTRACT_POINTS = 1.0
PRODUCTS_POINTS = 3.0
DECIMALS = 2
SHOWN_PROBLEMS = 3


@dataclass(frozen=True)
class Result:
    """One check, as check.py records it."""

    name: str
    passed: bool
    score: float
    max_score: float
    output: str
    visibility: str = "visible"
    tags: tuple[str, ...] = ()


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


# -- part A ------------------------------------------------------------------------------


def schedule_credit(preemptions: int, fewest: int, points: float = SCHEDULE_POINTS) -> float:
    """Points for a failing schedule with `preemptions`, when `fewest` are needed."""
    extra = max(0, preemptions - fewest)
    return round(points * max(SCHEDULE_FLOOR, 1 - EXTRA_PREEMPTION_COST * extra), DECIMALS)


def grade_schedule(name: str, problem: str, run: Run | None, fewest: int, replay: str) -> Result:
    """`problem`: why schedule.json could not be read ("" if it could); `run`: its replay
    on the learner's incident with the starter's cache.py; `replay`: the command that
    shows the run."""

    def failed(text: str) -> Result:
        return Result(name, False, 0.0, SCHEDULE_POINTS, text, tags=("seed-answer",))

    if run is None:
        return failed(f"schedule.json: {problem}.")
    if run.problem:
        return failed(
            f"Your schedule cannot be followed: {run.problem}.\nSee it step by step: {replay}"
        )
    if run.violation is None:
        return failed(
            f"Your schedule runs all {plural(len(run.schedule), 'step')} with every invariant "
            "intact: it does not reproduce the bug. Is it a schedule of the incident for the "
            f"seed on the lab page, run with the starter's cache.py?\nSee it step by step: {replay}"
        )
    score = schedule_credit(run.preemptions, fewest)
    lines = [
        f"Your schedule breaks an invariant at step {run.violation.step}, with "
        f"{plural(run.preemptions, 'preemption')}: {run.violation.message}",
    ]
    if run.preemptions <= fewest:
        lines.append(
            f"No failing schedule of your incident has fewer preemptions: {score:g} of "
            f"{SCHEDULE_POINTS:g} points."
        )
    else:
        lines.append(
            f"The fewest preemptions a failing schedule of your incident has is {fewest}: "
            f"{score:g} of {SCHEDULE_POINTS:g} points (each preemption more costs "
            f"{EXTRA_PREEMPTION_COST * SCHEDULE_POINTS:g}, down to half)."
        )
    return Result(
        name,
        run.preemptions <= fewest,
        score,
        SCHEDULE_POINTS,
        "\n".join(lines),
        tags=("seed-answer",),
    )


# -- part B ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the exhaustive search of one incident found."""

    title: str
    schedules: int = 0
    failure: str = ""  # "" when every schedule passed; else what failed, for the learner

    @property
    def safe(self) -> bool:
        return not self.failure


def part_b(
    incident: Outcome,
    hidden: list[Outcome],
    contract: dict[str, tuple[int, list[str]]],
    tried: int,
    waits: list[Wait],
    problem: str = "",
) -> list[Result]:
    """Part B's four checks, with the gates of the module docstring. `contract` is
    scenarios.contract()'s, `tried` and `waits` are scenarios.independence()'s; `problem`
    says why they could not be run, if they could not."""
    caches = bool(contract) and not any(broken for _, broken in contract.values())
    unsafe = [o for o in (incident, *hidden) if not o.safe]
    gate_text = (
        "\nThis counts only once the cache keeps every rule of the cache contract (see that "
        "check): a cache that does not cache cannot serve a stale price."
    )
    results = []

    if incident.safe:
        output = (
            f"{plural(incident.schedules, 'schedule')} with at most {BOUND} preemptions, "
            "and every invariant held. This is a preview: the hidden incidents carry most "
            "of part B."
        )
    else:
        output = incident.failure
    score = INCIDENT_POINTS if incident.safe and caches else 0.0
    results.append(
        Result(
            f"cache.py: every schedule of your incident with at most {BOUND} preemptions",
            incident.safe and caches,
            score,
            INCIDENT_POINTS,
            output + (gate_text if incident.safe and not caches else ""),
        )
    )

    passing = sum(o.safe for o in hidden)
    share = passing / len(hidden) if hidden else 0.0
    lines = [f"{passing} of {len(hidden)} hidden incidents passed every schedule."]
    lines += [f"{o.title}: {o.failure}" for o in hidden if not o.safe]
    score = round(HIDDEN_POINTS * share, DECIMALS) if caches else 0.0
    results.append(
        Result(
            f"cache.py: every schedule of {len(hidden)} hidden incidents with at most "
            f"{BOUND} preemptions",
            passing == len(hidden) and caches,
            score,
            HIDDEN_POINTS,
            "\n".join(lines) + (gate_text if passing and not caches else ""),
            visibility="hidden",
        )
    )

    safe_gate = (
        f"\nThis counts once every incident passes, yours and the hidden ones: "
        f"{len(unsafe)} of {1 + len(hidden)} do not yet."
        if unsafe
        else ""
    )
    lines = []
    for rule, (products, broken) in contract.items():
        if broken:
            lines.append(
                f"BROKEN on {len(broken)} of {products} products: {rule}; e.g. {broken[0]}"
            )
        else:
            lines.append(f"kept on {plural(products, 'product')}: {rule}")
    lines = lines or [problem or incident.failure]
    results.append(
        Result(
            "cache.py: the cache still caches",
            caches and not unsafe,
            CONTRACT_POINTS if caches and not unsafe else 0.0,
            CONTRACT_POINTS,
            "\n".join(lines) + safe_gate,
        )
    )

    finished = tried - len(waits)
    share = finished / tried if tried else 0.0
    lines = [
        problem
        or f"Each call was stopped after every step inside it, and a call on another product "
        f"then ran on its own: it finished at {finished} of {plural(tried, 'stop')}."
    ]
    for wait in waits[:SHOWN_PROBLEMS]:
        lines.append(
            f"{wait.scenario.title}, {thread_name(0)} stopped after "
            f"{plural(wait.after, 'step')}: {wait.why}"
        )
    if len(waits) > SHOWN_PROBLEMS:
        lines.append(f"... and {len(waits) - SHOWN_PROBLEMS} more stops like these.")
    if waits:
        lines.append(
            "While one thread waits on the database for a product, customers asking for "
            "any other product should not wait with it."
        )
    gates = safe_gate + (gate_text if not caches else "")
    counted = caches and not unsafe
    results.append(
        Result(
            "cache.py: a call on one product never waits for a call on another",
            counted and tried > 0 and not waits,
            round(PRODUCTS_POINTS * share, DECIMALS) if counted else 0.0,
            PRODUCTS_POINTS,
            "\n".join(lines) + gates,
        )
    )
    return results
