"""Explore your incident's schedules: the flaky test, every schedule up to a preemption
bound, one schedule replayed step by step, and part B's visible checks.

    python3 explore.py --seed S                        # your incident: threads and calls
    python3 explore.py --seed S test                   # the test that keeps passing
    python3 explore.py --seed S exhaustive --bound 1   # every schedule, at most 1 preemption
    python3 explore.py --seed S replay schedule.json   # one schedule, step by step
    python3 explore.py --seed S check                  # part B's visible checks

Add --cache FILE to run another implementation than cache.py, and --shape NAME to get
another race (fill, refresh, write-through) on your seed's products and threads.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable
from pathlib import Path

from scenarios import BOUND, SHAPES, contract, incident, independence
from scheduler import (
    HostError,
    HostProcess,
    Machine,
    Threads,
    explore,
    follow,
    parse_schedule,
    random_run,
    thread_name,
    trace_lines,
)

TEST_RUNS = 1000
# How often the test's scheduler preempts: about once every thousand steps, as a timer
# interrupt would, which is why the test passes almost every time.
TEST_SWITCH = 0.001


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def show_schedule(schedule: list[int]) -> str:
    return json.dumps(schedule)


def command_test(machine: Machine, runs: int, switch: float, seed: int) -> int:
    rng = random.Random(seed)
    failures = [
        run for run in (random_run(machine, rng, switch) for _ in range(runs)) if run.violation
    ]
    print(f"{runs - len(failures)} of {runs} runs passed.")
    if failures:
        first = failures[0]
        print(f"The first that failed ({plural(first.preemptions, 'preemption')}):")
        print(f"  {show_schedule(first.schedule)}\n  {first.violation.message}")
    return 1 if failures else 0


def command_exhaustive(machine: Machine, bound: int, save: str | None, seed: int) -> int:
    found = explore(machine, bound)
    print(
        f"Every schedule with at most {plural(bound, 'preemption')}: "
        f"{plural(found.schedules, 'schedule')}, {found.failing:,} of them failing "
        f"({plural(found.states, 'distinct state')})."
    )
    if found.first_failure is None:
        return 0
    run = follow(machine, found.first_failure)
    print(f"The first failing schedule found ({plural(run.preemptions, 'preemption')}):")
    print(f"  {show_schedule(run.schedule)}\n  {run.violation.message}")
    if save:
        Path(save).write_text(show_schedule(run.schedule) + "\n")
        print(f"Saved to {save}; replay it with: python3 explore.py --seed {seed} replay {save}")
    return 1


def command_replay(machine: Machine, path: str) -> int:
    schedule, problem = parse_schedule(Path(path).read_text())
    if schedule is None:
        print(f"{path}: {problem}")
        return 2
    run = follow(machine, schedule)
    print(f"{'step':>5}  {'who':<3} {'in call':<26} operation -> result")
    for line in trace_lines(machine, run):
        print(line)
    print(f"\n{plural(len(run.schedule), 'step')}, {plural(run.preemptions, 'preemption')}.")
    if run.problem:
        print(f"The schedule cannot be followed: {run.problem}.")
        return 2
    if run.violation:
        print(f"Invariant broken at step {run.violation.step}: {run.violation.message}")
        return 1
    print("Every thread finished and every invariant held.")
    return 0


def command_check(machine: Machine, threads: Threads) -> int:
    problems = 0
    found = explore(machine, BOUND)
    if found.first_failure is None:
        print(
            f"ok    your incident: {plural(found.schedules, 'schedule')} with at most {BOUND} "
            "preemptions, no invariant broken"
        )
    else:
        problems += 1
        run = follow(machine, found.first_failure)
        print(
            f"FAIL  your incident: {found.failing:,} of {plural(found.schedules, 'schedule')} "
            f"fail, e.g. {show_schedule(run.schedule)}\n      {run.violation.message}"
        )
    for rule, (tried, broken) in contract(threads).items():
        problems += bool(broken)
        kept = f"kept on {tried - len(broken)} of {tried} products"
        print(f"{'FAIL' if broken else 'ok  '}  {rule}: {kept}")
        for result in broken[:3]:
            print(f"      {result}")
    tried, waits = independence(threads)
    problems += bool(waits)
    print(
        f"{'FAIL' if waits else 'ok  '}  calls on one product never wait for a call on another: "
        f"{tried - len(waits)} of {tried} stops"
    )
    for wait in waits[:5]:
        print(
            f"      {wait.scenario.title}, t0 stopped after "
            f"{plural(wait.after, 'step')}: {wait.why}"
        )
    return 1 if problems else 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="your seed, from the lab page")
    parser.add_argument("--shape", choices=SHAPES, help="another race on your seed's threads")
    parser.add_argument("--cache", type=Path, help="the implementation to run (default cache.py)")
    commands = parser.add_subparsers(dest="command")
    test = commands.add_parser("test", help="random runs, as the operating system schedules them")
    test.add_argument("--runs", type=int, default=TEST_RUNS)
    test.add_argument("--switch", type=float, default=TEST_SWITCH, help="preemptions per step")
    exhaustive = commands.add_parser("exhaustive", help="every schedule up to a preemption bound")
    exhaustive.add_argument("--bound", type=int, default=1)
    exhaustive.add_argument("--save", help="write the first failing schedule to this file")
    replay = commands.add_parser("replay", help="follow one schedule, step by step")
    replay.add_argument("schedule", help="a JSON file such as schedule.json")
    commands.add_parser("check", help="part B's visible checks, as the checker runs them")
    args = parser.parse_args(argv)

    scenario = incident(args.seed, args.shape)
    host = HostProcess(args.cache)
    threads = Threads(host.ask)
    machine = Machine(scenario, threads)
    try:
        if args.command is None:
            print(scenario.describe())
            print(
                f"Threads are numbered {thread_name(0)} to "
                f"{thread_name(len(scenario.threads) - 1)}."
            )
            return 0
        if args.command == "test":
            return command_test(machine, args.runs, args.switch, args.seed)
        if args.command == "exhaustive":
            return command_exhaustive(machine, args.bound, args.save, args.seed)
        if args.command == "replay":
            return command_replay(machine, args.schedule)
        return command_check(machine, threads)
    except HostError as error:
        print(f"The scheduler could not ask your threads: {error}", file=sys.stderr)
        return 2
    finally:
        host.close()


if __name__ == "__main__":
    sys.exit(main())
