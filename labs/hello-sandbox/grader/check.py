"""Hidden checker for hello-sandbox: runs the learner's logparse.py on logs, compares summaries.

The learner's script runs as the learner uid in its own process; everything this file
trusts (the logs and the expected summaries) is computed here, on the checker's side.
Which logs, fields and points make up each check is cases.plan's business.
"""

import os
import time
from pathlib import Path

import cases
from downstack_harness import Grader
from reference import summarise

HERE = Path(__file__).resolve().parent
DEFAULT_SEED = 2026  # lab.toml's check_seed; used when no seed is given
TIMEOUT_S = 10  # per log
# All runs together: a script that hangs on every log fails each check in turn until this
# is spent, and the checker still finishes inside lab.toml's timeout_s.
BUDGET_S = 40
MEMORY_MB = 200
STDERR_LINES = 3
STDERR_LINE_CHARS = 300


def run_script(g: Grader, log_text: str, deadline: float) -> tuple[dict | None, str]:
    """(summary, problem): the learner's JSON summary of a log, or why there is none."""
    timeout_s = min(TIMEOUT_S, deadline - time.monotonic())
    if timeout_s < 1:
        return None, (
            f"Not run: your script used up the {BUDGET_S} s allowed for all logs together "
            "(it did not finish on earlier logs)."
        )
    run = g.run_learner(
        ["python3", "logparse.py"],
        input=log_text.encode(),
        timeout_s=timeout_s,
        memory_mb=MEMORY_MB,
    )
    if run.output_truncated:
        advice = (
            "Print only the one JSON summary."
            if "stdout" in run.flooded_streams
            else "Write less to standard error."
        )
        return None, f"{run.output_note} {advice}"
    if run.timed_out:
        return None, f"Your script did not finish within {timeout_s:.0f} s on this log."
    if run.memory_exceeded:
        return None, f"Your script used more than {MEMORY_MB} MB on this log and was stopped."
    if run.returncode != 0:
        tail = run.stderr.decode(errors="replace").strip().splitlines()[-STDERR_LINES:]
        shown = "\n".join(text[:STDERR_LINE_CHARS] for text in tail)
        return None, f"Your script exited with code {run.returncode}:\n{shown}"
    return cases.read_summary(run.stdout)


def grade(g: Grader, case: cases.Case, deadline: float, runs: dict) -> None:
    """Record one check; `runs` keeps each log's result, so a log shared by two checks
    (sample.log's counts and percentiles) is run once and both see the same answer."""
    problems = []
    for number, log_text in enumerate(case.logs, 1):
        if log_text not in runs:
            runs[log_text] = run_script(g, log_text, deadline)
        summary, problem = runs[log_text]
        if summary is not None:
            problem = "\n".join(cases.differences(summary, summarise(log_text), case.fields))
        if problem:
            where = f"Log {number} of {len(case.logs)}: " if len(case.logs) > 1 else ""
            problems.append(where + problem)
    if problems:
        output = "\n".join([case.about, *problems] if case.about else problems)
    else:
        output = "All fields match."
    g.check(
        case.name, not problems, max_score=case.points, output=output, visibility=case.visibility
    )


def main() -> None:
    g = Grader()
    seed = int(os.environ.get("DOWNSTACK_SEED", DEFAULT_SEED))
    # The learner's own sample.log, included from starter/ by lab.toml.
    sample = (HERE / "starter" / "sample.log").read_text()
    deadline = time.monotonic() + BUDGET_S
    runs: dict[str, tuple[dict | None, str]] = {}
    plan = cases.plan(seed, sample)
    # Declared up front, so that a run stopped at the time limit keeps what it earned.
    for case in plan:
        g.expect(case.name, max_score=case.points, visibility=case.visibility)
    hidden = 0
    for case in plan:
        if case.visibility == "visible":
            g.running(case.name)
        else:
            hidden += 1
            g.running(f"hidden check {hidden}")  # its name stays hidden while it runs too
        grade(g, case, deadline, runs)
    g.emit()


if __name__ == "__main__":
    main()
