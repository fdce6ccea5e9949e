"""Hidden checker for heisenbug-race: grades schedule.json (part A) and cache.py (part B).

Part A replays the learner's schedule on their own incident (drawn from their seed),
with the starter's cache.py, and searches the same incident for the fewest preemptions
any failing schedule has. Part B searches every schedule with at most BOUND preemptions
of the learner's incident and of hidden incidents (hidden.py) with the learner's
cache.py, then runs the solo runs of the cache contract and of independent products.

Either way the threads' code runs in a learner process (host_process.py), never here:
it only says what a thread does next. The scheduler, the database, the cache and the
locks are starter/scheduler.py's, in this process, so every effect and every invariant
is the checker's own observation. The scheduler and the incidents are exactly the files
the learner was given, which lab.toml's `[grader] include` puts beside this one.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "starter"))  # scheduler.py and scenarios.py, as the learner has them

from downstack_harness import Grader  # noqa: E402
from hidden import hidden_incidents  # noqa: E402
from host_process import ThreadsHost  # noqa: E402
from scenarios import BOUND, contract, incident, independence  # noqa: E402
from scheduler import (  # noqa: E402
    STATE_LIMIT,
    HostError,
    Machine,
    Scenario,
    Threads,
    explore,
    fewest_preemptions,
    follow,
    parse_schedule,
)
from scoring import Outcome, Result, grade_schedule, part_b, plural  # noqa: E402

DEFAULT_SEED = 4242  # lab.toml's check_seed; used when no seed is given
STARTER = HERE / "starter"  # threads.py and the starter's cache.py
# All of part B together (searches and solo runs); the reference needs about a second.
PART_B_BUDGET_S = 30.0


def read_schedule(data: bytes | None) -> tuple[list[int] | None, str]:
    if data is None:
        return None, "is missing: hand in one JSON list of thread numbers, such as [0, 0, 1, 1, 0]"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    schedule, problem = parse_schedule(text)
    if schedule == []:
        return None, "is an empty list: hand in a failing schedule of your incident"
    return schedule, problem


def grade_part_a(g: Grader, seed: int, scenario: Scenario) -> Result:
    name = f"schedule.json: a minimal failing schedule of your incident (seed {seed})"
    replay = f"python3 explore.py --seed {seed} replay schedule.json"
    schedule, problem = read_schedule(g.submission_file("schedule.json"))
    if schedule is None:
        return grade_schedule(name, problem, None, 0, replay)
    host = ThreadsHost(g, STARTER)
    try:
        threads = Threads(host.ask)
        run = follow(Machine(scenario, threads), schedule)
        fewest = fewest_preemptions(Machine(scenario, threads), BOUND)
    finally:
        host.close()
    # Every incident has a failing schedule within BOUND; if one had none, a failing
    # schedule found beyond it is as short as any.
    least = fewest[0] if fewest else run.preemptions
    return grade_schedule(name, "", run, least, replay)


def search(threads: Threads, scenario: Scenario, replay: str) -> Outcome:
    """Every schedule of `scenario` with at most BOUND preemptions."""
    machine = Machine(scenario, threads)
    try:
        found = explore(machine, BOUND)
        if found.first_failure is not None:
            run = follow(machine, found.first_failure)
            counts = (
                f"{found.failing:,} of {found.schedules:,} schedules fail"
                if found.complete
                else "a schedule fails"
            )
            return Outcome(
                scenario.title,
                found.schedules,
                f"{counts}; the first found ({plural(run.preemptions, 'preemption')}) is\n"
                f"  {run.schedule}\n{run.violation.message}{replay}",
            )
    except HostError as error:
        return Outcome(scenario.title, failure=f"the scheduler could not ask your threads: {error}")
    if not found.complete:
        return Outcome(
            scenario.title,
            failure=(
                f"the search stopped at {STATE_LIMIT:,} distinct states without covering "
                f"every schedule with at most {BOUND} preemptions: does each call take only "
                "the steps it needs?"
            ),
        )
    return Outcome(scenario.title, found.schedules)


def learner_folder(cache: bytes) -> Path:
    """A folder with the learner's cache.py beside the starter's threads.py."""
    folder = Path(tempfile.mkdtemp(prefix="heisenbug-"))
    (folder / "cache.py").write_bytes(cache)
    shutil.copyfile(STARTER / "threads.py", folder / "threads.py")
    return folder


def grade_part_b(g: Grader, seed: int, scenario: Scenario) -> list[Result]:
    cache = g.submission_file("cache.py")
    if cache is None:
        missing = Outcome(
            scenario.title, failure="cache.py is missing: hand in your fixed cache.py."
        )
        hidden = [Outcome(s.title, failure=missing.failure) for s in hidden_incidents(seed)]
        return part_b(missing, hidden, {}, 0, [], missing.failure)
    folder = learner_folder(cache)
    started = time.monotonic()
    host = ThreadsHost(g, folder, deadline=started + PART_B_BUDGET_S)
    threads = Threads(host.ask)
    try:
        replay = (
            "\nReplay it: save that list to a file and run "
            f"python3 explore.py --seed {seed} replay FILE"
        )
        mine = search(threads, scenario, replay)
        hidden = []
        for other in hidden_incidents(seed):
            if time.monotonic() - started > PART_B_BUDGET_S:
                hidden.append(
                    Outcome(
                        other.title, failure=f"not run: part B used up its {PART_B_BUDGET_S:g} s"
                    )
                )
            else:
                hidden.append(search(threads, other, ""))
        try:
            kept, (tried, waits), problem = contract(threads), independence(threads), ""
        except HostError as error:
            kept, tried, waits = {}, 0, []
            problem = f"the scheduler could not ask your threads: {error}"
    finally:
        host.close()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"part B took {time.monotonic() - started:.1f} s, {threads.questions} questions",
        file=sys.stderr,
    )
    return part_b(mine, hidden, kept, tried, waits, problem)


def main() -> None:
    g = Grader()
    seed = int(os.environ.get("DOWNSTACK_SEED", DEFAULT_SEED))
    scenario = incident(seed)
    results = [grade_part_a(g, seed, scenario), *grade_part_b(g, seed, scenario)]
    for result in results:
        g.check(
            result.name,
            result.passed,
            score=result.score,
            max_score=result.max_score,
            output=result.output,
            visibility=result.visibility,
            tags=result.tags,
        )
    g.emit()


if __name__ == "__main__":
    main()
