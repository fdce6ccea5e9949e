"""Replay one trace of the GPU cluster against a scheduler, and write what happened.

    python3 simulate.py --seed 1234                       # your incident
    python3 simulate.py --seed 1234 --trace mig-heavy     # more inference, larger profiles
    python3 simulate.py --seed 1234 --trace quota-burst   # one tenant floods the queue
    python3 simulate.py --seed 1234 --scheduler other.py  # another scheduler file

The scheduler runs as a process of its own and speaks JSON lines over its standard input
and output (the README has the protocol). What comes out, under runs/TRACE-SEED/:

- events.log: every arrival, pod creation, binding, refusal, start and finish, cycle by
  cycle, and the deadlock when there is one (the simulation stops there).
- summary.txt: the measures the lab is graded on (also printed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from cluster import (
    DEADLOCK_CYCLES,
    MAX_LINE_BYTES,
    TRACES,
    Result,
    SchedulerError,
    make_trace,
    parse_line,
    simulate,
)


class PipeScheduler:
    """The scheduler as its own process, asked one message at a time over pipes."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def ask(self, message: dict) -> object:
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except OSError:
            raise SchedulerError("stopped reading its input (did it crash?)") from None
        line = self.process.stdout.readline(MAX_LINE_BYTES)
        if not line:
            raise SchedulerError("exited or closed its output (did it crash?)")
        return parse_line(line)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def summary(result: Result) -> str:
    trace = result.trace
    lines = [
        f"trace {trace.name}, seed {trace.seed}: {len(trace.gangs)} gangs, "
        f"{len(trace.inference)} inference pods; the run ended at cycle {result.cycles}",
        f"gangs started: {result.gangs_started} of {len(trace.gangs)}; inference pods "
        f"started: {result.inference_started} of {len(trace.inference)}",
        f"mean gang wait: {result.mean_gang_wait:.1f} cycles; mean inference wait: "
        f"{result.mean_inference_wait:.1f} cycles",
        f"utilisation of the whole GPUs while a gang waited: {result.utilisation:.1%}",
        f"gangs left partly bound: {result.count('partly-bound')}; gangs spread over "
        f"islands they did not need: {result.count('spread')}; bindings refused: "
        f"{result.count('refused')}",
    ]
    if result.deadlock:
        lines.append(
            f"DEADLOCK at cycle {result.deadlock.cycle}: gang {result.deadlock.gang} "
            f"(and others) held hostage by partly bound gangs for {DEADLOCK_CYCLES} cycles"
        )
    else:
        lines.append("no deadlock")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="your seed, from the lab page")
    parser.add_argument("--trace", choices=TRACES, default="incident")
    parser.add_argument("--scheduler", default="scheduler.py", help="default scheduler.py")
    parser.add_argument("--out", default=None, help="where to write (default runs/TRACE-SEED/)")
    args = parser.parse_args(argv)
    scheduler = PipeScheduler([sys.executable, args.scheduler])
    try:
        result = simulate(make_trace(args.seed, args.trace), scheduler)
    except SchedulerError as error:
        print(f"the simulation stopped: the scheduler {error}", file=sys.stderr)
        return 1
    finally:
        scheduler.close()
    directory = Path(args.out or f"runs/{args.trace}-{args.seed}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "events.log").write_text("\n".join(result.events) + "\n")
    text = summary(result)
    (directory / "summary.txt").write_text(text + "\n")
    print(text)
    print(f"events: {directory / 'events.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
