"""Hidden checker for hello-sandbox: runs the learner's logparse.py on logs, compares summaries.

The learner's script runs as the learner uid in its own process; everything this file
trusts (the logs and the expected summaries) is computed here, on the checker's side.
"""

import json
import math
from pathlib import Path

import logs
from downstack_harness import Grader
from reference import summarise

HERE = Path(__file__).resolve().parent


def run_script(g: Grader, log_text: str):
    """(summary, problem): the learner's JSON summary of a log, or why there is none."""
    run = g.run_learner(
        ["python3", "logparse.py"], input=log_text.encode(), timeout_s=10, memory_mb=200
    )
    if run.timed_out:
        return None, "Your script did not finish within 10 s on this log."
    if run.memory_exceeded:
        return None, "Your script used more than 200 MB on this log and was stopped."
    if run.returncode != 0:
        tail = run.stderr.decode(errors="replace").strip().splitlines()[-3:]
        return None, f"Your script exited with code {run.returncode}:\n" + "\n".join(tail)
    lines = [ln for ln in run.stdout.decode(errors="replace").splitlines() if ln.strip()]
    try:
        summary = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        summary = None
    if not isinstance(summary, dict):
        shown = lines[-1][:200] if lines else "(nothing)"
        return None, f"Expected one JSON object on standard output, got: {shown}"
    return summary, ""


def _same_number(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or not isinstance(a, (int, float)):
        return False
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def compare(summary: dict, expected: dict, fields: tuple[str, ...]) -> list[str]:
    """One line per field that differs, saying what was expected and what was printed."""
    wrong = []
    for name in fields:
        got, want = summary.get(name), expected[name]
        same = got == want if name == "by_status" else _same_number(got, want)
        if name in ("requests", "malformed") and type(got) is not int:
            same = False
        if not same:
            wrong.append(f"{name}: expected {json.dumps(want)}, got {json.dumps(got)}")
    return wrong


COUNTS = ("requests", "malformed", "by_status")
PERCENTILES = ("p50_ms", "p99_ms")


def check_log(g: Grader, name: str, log_text: str, fields, *, points=1.0, visibility="visible"):
    expected = summarise(log_text)
    summary, problem = run_script(g, log_text)
    if summary is None:
        g.check(name, False, max_score=points, output=problem, visibility=visibility)
        return
    wrong = compare(summary, expected, fields)
    output = "All fields match." if not wrong else "\n".join(wrong)
    g.check(name, not wrong, max_score=points, output=output, visibility=visibility)


def main() -> None:
    g = Grader()
    # The learner's own sample.log, included from starter/ by lab.toml.
    sample = (HERE / "starter" / "sample.log").read_text()
    check_log(g, "sample.log: request, malformed and status counts", sample, COUNTS, points=2)
    check_log(g, "sample.log: p50 and p99 latency", sample, PERCENTILES, points=2)
    tricky = "".join(
        logs.line(logs.random.Random(i), r) + "\n" for i, r in enumerate(logs.TRICKY_REQUESTS * 3)
    )
    tricky += logs.generated(7, 17)
    check_log(
        g,
        "request lines with spaces, escaped quotes and '-'",
        tricky,
        COUNTS + PERCENTILES,
        points=2,
    )
    garbage = logs.generated(11, 60, garbage=0.15)
    check_log(g, "malformed lines are counted and skipped", garbage, COUNTS, points=2)
    check_log(
        g,
        "generated log of 20,000 requests",
        logs.generated(2026, 20_000, tricky=0.01, garbage=0.002),
        COUNTS + PERCENTILES,
        visibility="hidden",
    )
    awkward = logs.distinct_latencies(99, 200)
    check_log(
        g,
        "percentiles where p/100 * n is a whole number",
        awkward,
        PERCENTILES,
        visibility="hidden",
    )
    g.emit()


if __name__ == "__main__":
    main()
