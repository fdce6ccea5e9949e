"""The learner's (or the reference's) service.py, run order by order under the runner.

``Grader.start_learner`` starts the trusted runner (runner.py) in a fresh, read-only copy
of the service's folder, isolated, under a uid of its own; this module speaks the
runner's protocol and reads the process's CPU time from /proc, which the learner's code
cannot rewrite.

The runner is started with ``python3 -s -c`` rather than ``-I`` so that PYTHONHASHSEED
reaches it: a service that iterates over a set of strings then gives the same invoice on
every run, so one submission's grade never changes between gradings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from downstack_harness import Grader, LearnerProcess, LearnerProcessError, LearnerProcessTimeout

RUNNER = Path(__file__).resolve().parent / "runner.py"
MEMORY_MB = 256
CPU_S = 60
START_TIMEOUT_S = 15.0
ORDER_TIMEOUT_S = 20.0
NO_LIMIT = 1 << 60
# How often the CPU time of a process working on an order is read.
CPU_POLL_S = 0.2
ENV = {"PYTHONHASHSEED": "0"}
TAMPERED_MARK = "The checker stopped your service"
MAX_LINE_BYTES = 8 << 20


@dataclass(frozen=True)
class Reply:
    kind: str  # "answer", "error", "over" (past the call budget), "slow" (past the CPU
    # allowance), "failed" (crashed, hung)
    calls: int
    text: str  # the invoice, or what went wrong, for the learner
    cpu_s: float = 0.0  # the CPU time the process used on it, from /proc


class Tampered(Exception):
    """The runner stopped the service for reaching for the counter."""


def start(g: Grader, source: Path, mode: str) -> LearnerProcess:
    """The runner with the service imported, once it has said READY."""
    process = g.start_learner(
        ["python3", "-s", "-c", RUNNER.read_text(), mode],
        source=source,
        isolated=True,
        memory_mb=MEMORY_MB,
        cpu_s=CPU_S,
        extra_env=ENV,
    )
    try:
        line = process.read_line(time.monotonic() + START_TIMEOUT_S, max_bytes=MAX_LINE_BYTES)
        if line != "READY":
            raise LearnerProcessError(f"wrote {line[:120]!r} while service.py was imported")
    except LearnerProcessError:
        process.close()
        raise
    return process


def raise_if_tampered(error: LearnerProcessError) -> None:
    """The runner's audit hook leaves its message on stderr, which the error quotes."""
    if TAMPERED_MARK in str(error):
        raise Tampered(TAMPERED_MARK + str(error).partition(TAMPERED_MARK)[2]) from None


def ask(process: LearnerProcess, text: str, limit: int, cpu_cap_s: float | None = None) -> Reply:
    """Send one order and read the runner's reply. Past ``cpu_cap_s`` of CPU time on it
    (read from /proc while waiting) the order is given up: a counter silenced from inside
    cannot make a slow service look fast for longer than that."""
    started = process.cpu_time_s() or 0.0
    process.send_line(f"{limit} {text}", timeout_s=ORDER_TIMEOUT_S)
    deadline = time.monotonic() + ORDER_TIMEOUT_S
    while True:
        try:
            line = process.read_line(
                min(deadline, time.monotonic() + CPU_POLL_S), max_bytes=MAX_LINE_BYTES
            )
            break
        except LearnerProcessTimeout:
            if time.monotonic() >= deadline:
                raise
            used = (process.cpu_time_s() or 0.0) - started
            if cpu_cap_s is not None and used > cpu_cap_s:
                return Reply("slow", 0, f"{used:.1f} s", used)
    used = (process.cpu_time_s() or 0.0) - started
    kind, _, rest = line.partition(" ")
    if kind == "OVER":
        return Reply("over", limit, "", used)
    if kind == "TAMPERED":
        raise Tampered(rest)
    calls, _, body = rest.partition(" ")
    if kind not in ("ANSWER", "ERROR") or not calls.isdigit():
        problem = f"the runner read {line[:120]!r}: does service.py write to its output?"
        return Reply("failed", 0, problem, used)
    return Reply("answer" if kind == "ANSWER" else "error", int(calls), body, used)


def count_run(
    g: Grader,
    source: Path,
    texts: list[str],
    limits: list[int],
    cpu_caps: list[float | None],
) -> list[Reply]:
    """Every order's reply under the call counter. A process stopped past its limit, or
    that crashed, is replaced by a fresh one for the next order; after an order that was
    not answered in time the rest are not run. Raises Tampered."""
    replies: list[Reply] = []
    process: LearnerProcess | None = None
    hung = False
    try:
        for text, limit, cpu_cap_s in zip(texts, limits, cpu_caps, strict=True):
            if hung:
                replies.append(Reply("failed", 0, "not run: the service hung on an earlier order"))
                continue
            try:
                if process is None:
                    process = start(g, source, "count")
                reply = ask(process, text, limit, cpu_cap_s)
            except LearnerProcessTimeout:
                hung = True
                reply = Reply("failed", 0, f"no answer within {ORDER_TIMEOUT_S:g} s")
            except LearnerProcessError as error:
                raise_if_tampered(error)
                reply = Reply("failed", 0, f"Your service {error}")
            if reply.kind in ("over", "slow", "failed") and process is not None:
                process.close()
                process = None
            replies.append(reply)
    finally:
        if process is not None:
            process.close()
    return replies


def time_run(
    g: Grader, source: Path, texts: list[str], cpu_cap_s: float
) -> tuple[list[str], float | None, str]:
    """(the invoices, the CPU seconds handle() took over all of them, problem) with no
    counter installed; stops early once past ``cpu_cap_s``. Raises Tampered."""
    invoices: list[str] = []
    try:
        process = start(g, source, "time")
    except LearnerProcessError as error:
        raise_if_tampered(error)
        return invoices, None, f"Your service {error}"
    try:
        started = process.cpu_time_s()
        for text in texts:
            reply = ask(process, text, NO_LIMIT)
            if reply.kind != "answer":
                return invoices, None, f"Without the counter, an order failed: {reply.text}"
            invoices.append(reply.text)
            used = (process.cpu_time_s() or 0.0) - (started or 0.0)
            if used > cpu_cap_s:
                return invoices, used, ""
        ended = process.cpu_time_s()
        if started is None or ended is None:
            return invoices, None, "The service's CPU time could not be read."
        return invoices, ended - started, ""
    except LearnerProcessError as error:
        raise_if_tampered(error)
        return invoices, None, f"Without the counter, your service {error}"
    finally:
        process.close()
