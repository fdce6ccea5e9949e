"""A deterministic simulation of the catalog API under load, one seed at a time.

Users send requests to the catalog API through its client library; a load balancer
hands every attempt to the backend, which has a few workers and a queue in front of
them. The simulator owns everything a real deployment leaves to chance: when users
arrive, how long the network and every piece of work take, which attempts fail, and the
trouble a traffic shape brings (a slowdown of the backend, a surge of users, a burst of
errors, a herd of users arriving at once). The policy owns every decision: whether and
when to send an attempt, how long to wait for it, which deadline to pass on, and which
attempts the backend takes. It is `policy.py`, run twice in processes of its own, once
as the client library and once as the backend's admission control, and it is asked
once per tick (10 ms) about everything that happened since the last one. With the same
seed, shape and policy, every run is the same run, down to the last attempt.

    python3 simulate.py --seed 1234                   # the incident: dashboard.csv
    python3 simulate.py --seed 1234 --shape steady    # the same service on a calm day

What comes out, under runs/<shape>-<seed>/:

- dashboard.csv: one row per second, the numbers an on-call engineer would look at.
- summary.txt: what happened, in a few lines (also printed).
"""

from __future__ import annotations

import argparse
import csv
import heapq
import io
import json
import math
import os
import random
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

TICK_MS = 10  # the client library and the backend decide on a 10 ms event loop
WORKERS = 4
SERVICE_MS = 40  # mean time a worker spends on an attempt when the backend is healthy
HEALTHY_CAPACITY = WORKERS * 1000 // SERVICE_MS  # attempts per second: 100
QUEUE_LIMIT = 1000  # the backend's queue in front of the workers
ERROR_RATE = 0.04  # attempts that fail with a transient error on a healthy day
ERROR_SERVICE_MS = 5  # a transient error is answered quickly
NETWORK_MS = (1, 3)  # one way, between the client library and the backend
LOSS = 0.005  # attempts whose request or answer the network loses: only a timeout tells
# The backend's accept backlog: attempts that arrive between two turns of its event loop
# wait there for admission control; one that finds it full is refused at once.
BACKLOG = 5
MAX_ATTEMPTS = 5  # the client library refuses a sixth attempt for one request
MAX_WAIT_MS = 60_000  # the longest delay or timeout a policy may ask for
ROLES = ("client", "server")
SHAPES = ("incident", "steady", "slowdown", "surge", "errors", "herd")
# Bounds on what a policy may answer, so that a runaway policy is reported instead of
# stalling the simulation.
MAX_LINE_BYTES = 1 << 20

COLUMNS = (
    "second",
    "requests",  # user requests that arrived
    "offered",  # attempts that reached the backend, retries included
    "retries",  # of those, attempts after the first for their request
    "goodput",  # user requests answered successfully
    "failed",  # user requests that ended without a success (gave up, shed, deadline)
    "rejected",  # attempts the backend refused
    "dropped",  # attempts dropped unserved because their propagated deadline had passed
    "wasted",  # attempts served whose client had already stopped waiting
    "queue",  # attempts waiting in the backend's queue at the end of the second
    "capacity",  # attempts per second the backend could serve at its current speed
    "p50_ms",  # latency of the requests answered successfully in that second
    "p99_ms",
)


class PolicyError(Exception):
    """A policy broke the protocol: crashed, hung, or answered something malformed."""

    def __init__(self, role: str, problem: str) -> None:
        super().__init__(f"the {role} policy {problem}")
        self.role = role
        self.problem = problem


# -- traffic shapes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """The trouble in a shape, from start_s to end_s (seconds of simulated time)."""

    kind: str  # "slowdown": service takes `size` times longer; "surge": `size` times
    # the users; "errors": `size` of the attempts fail with a transient error
    start_s: int
    end_s: int
    size: float

    def describe(self) -> str:
        what = {
            "slowdown": f"the backend is {self.size:g} times slower",
            "surge": f"{self.size:g} times the usual users arrive",
            "errors": f"{self.size:.0%} of attempts fail with a transient error",
        }[self.kind]
        return f"seconds {self.start_s} to {self.end_s}: {what}"


@dataclass(frozen=True)
class Shape:
    name: str
    duration_s: int
    base_rps: float  # user requests per second, on average
    deadline_ms: int = 2500  # how long a user waits for an answer, then gives up
    trigger: Trigger | None = None
    herds: tuple[tuple[int, int], ...] = ()  # (at ms, users) arriving within HERD_MS

    def describe(self) -> str:
        lines = [
            f"{self.name}: {self.duration_s} s, about {self.base_rps:g} requests/s, "
            f"users wait {self.deadline_ms} ms for an answer"
        ]
        if self.trigger:
            lines.append(f"  {self.trigger.describe()}")
        for at, users in self.herds:
            lines.append(f"  at {at / 1000:g} s: a batch job sends {users} requests at once")
        return "\n".join(lines)


HERD_MS = 10  # a batch job's requests all leave within one tick
DEADLINES_MS = (2000, 2500, 3000, 3500)


def shape_for(name: str, seed: int) -> Shape:
    """The traffic shape `name` for a seed; the same seed always gives the same shape."""
    if name not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {name!r}")
    rng = random.Random(f"shape {name} {seed}")
    base = rng.randint(55, 65)
    deadline = rng.choice(DEADLINES_MS)
    start = rng.randint(12, 25)
    if name == "incident":
        trigger = Trigger("slowdown", start, start + 30, rng.choice((4, 5, 6)))
        return Shape(name, 100, base, deadline, trigger)
    if name == "slowdown":
        trigger = Trigger("slowdown", start, start + rng.randint(15, 35), rng.choice((3, 4, 6, 8)))
        return Shape(name, trigger.end_s + 30, base, deadline, trigger)
    if name == "surge":
        size = rng.choice((2.0, 2.5, 3.0))
        trigger = Trigger("surge", start, start + rng.randint(10, 20), size)
        return Shape(name, trigger.end_s + 30, base, deadline, trigger)
    if name == "errors":
        size = rng.choice((0.15, 0.2, 0.25))
        trigger = Trigger("errors", start, start + rng.randint(15, 25), size)
        return Shape(name, trigger.end_s + 20, base, deadline, trigger)
    if name == "herd":
        herds = tuple((at * 1000 + rng.randint(0, 999), rng.randint(50, 70)) for at in (10, 25, 40))
        return Shape(name, 50, base, deadline, None, herds)
    return Shape(name, 40, base, deadline)


def arrivals(shape: Shape, rng: random.Random) -> list[int]:
    """When each user request arrives (ms), in order: Poisson, plus the herds."""
    times = []
    t = 0.0
    end = shape.duration_s * 1000
    trigger = shape.trigger
    while True:
        rate = shape.base_rps
        if (
            trigger
            and trigger.kind == "surge"
            and trigger.start_s * 1000 <= t < trigger.end_s * 1000
        ):
            rate *= trigger.size
        t += rng.expovariate(rate / 1000)
        if t >= end:
            break
        times.append(int(t))
    for at, users in shape.herds:
        times += [at + rng.randrange(HERD_MS) for _ in range(users)]
    return sorted(times)


# -- the simulation ------------------------------------------------------------------------


@dataclass
class Request:
    id: int
    arrival: int
    deadline: int
    attempts: int = 0
    waiting: Attempt | None = None  # the attempt the client is waiting for
    done: bool = False
    ok: bool = False
    finished: int = 0


@dataclass
class Attempt:
    request: Request
    number: int
    sent: int
    deadline: int | None  # the propagated deadline, if the client passed one on
    enqueued: int = 0


@dataclass
class Series:
    """Per-second counters; `add` grows the lists as simulated time goes on."""

    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, name: str, ms: int, amount: int = 1) -> None:
        column = self.counts.setdefault(name, [])
        second = ms // 1000
        if second >= len(column):
            column.extend([0] * (second + 1 - len(column)))
        column[second] += amount

    def get(self, name: str, second: int) -> int:
        column = self.counts.get(name, [])
        return column[second] if second < len(column) else 0


@dataclass
class Result:
    """One simulated run: the dashboard and every user request's outcome."""

    seed: int
    shape: Shape
    dashboard: list[dict] = field(default_factory=list)  # one row per second, COLUMNS
    # Per user request: (arrival ms, finished ms, succeeded, attempts sent).
    requests: list[tuple[int, int, bool, int]] = field(default_factory=list)
    ticks: int = 0  # rounds of questions to the policies


class Simulation:
    """One seeded run: an event queue in simulated milliseconds, drained in order.

    Events at the same millisecond run in the order they were scheduled. Every draw of
    chance comes from generators seeded by the run's seed: one for the users, one for
    the backend and the network, one for the `rand` values the policies get, so that a
    policy's choices cannot move the users, and a run depends on nothing but the seed,
    the shape and what the policies answer.
    """

    def __init__(self, seed: int, shape: Shape, policies: dict) -> None:
        self.seed = seed
        self.shape = shape
        self.policies = policies
        self.users = random.Random(f"users {seed}")
        self.backend = random.Random(f"backend {seed}")
        self.jitter = random.Random(f"jitter {seed}")
        self.events: list[tuple[int, int, str, object]] = []
        self.sequence = 0
        self.requests: list[Request] = []
        self.queue: deque[Attempt] = deque()
        self.busy = 0
        self.series = Series()
        self.queue_at: dict[int, int] = {}  # second -> queue length at its last change
        self.latencies: dict[int, list[int]] = {}
        self.decide = {"client": [], "server": []}  # (event, subject) awaiting an answer
        self.seen = {"client": [], "server": []}
        self.ticks = 0

    # -- bookkeeping -------------------------------------------------------------------

    def schedule(self, time: int, kind: str, data: object) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (time, self.sequence, kind, data))

    def network(self) -> int:
        return self.backend.randint(*NETWORK_MS)

    def in_trigger(self, kind: str, ms: int) -> float | None:
        trigger = self.shape.trigger
        if trigger and trigger.kind == kind and trigger.start_s * 1000 <= ms < trigger.end_s * 1000:
            return trigger.size
        return None

    def service_factor(self, ms: int) -> float:
        return self.in_trigger("slowdown", ms) or 1.0

    def error_rate(self, ms: int) -> float:
        burst = self.in_trigger("errors", ms)
        return ERROR_RATE if burst is None else max(ERROR_RATE, burst)

    def note_queue(self, ms: int) -> None:
        self.queue_at[ms // 1000] = len(self.queue)

    def finish(self, request: Request, ms: int, ok: bool) -> None:
        request.done, request.ok, request.finished = True, ok, ms
        request.waiting = None
        if ok:
            self.series.add("goodput", ms)
            self.latencies.setdefault(ms // 1000, []).append(ms - request.arrival)
        else:
            self.series.add("failed", ms)

    # -- the run -----------------------------------------------------------------------

    def run(self) -> Result:
        for role in ROLES:
            init = {
                "type": "init",
                "role": role,
                "tick_ms": TICK_MS,
                "deadline_ms": self.shape.deadline_ms,
                "max_attempts": MAX_ATTEMPTS,
                "workers": WORKERS,
                "queue_limit": QUEUE_LIMIT,
            }
            self.policies[role].post(init)
            self.policies[role].reply()
        for number, at in enumerate(arrivals(self.shape, self.users)):
            request = Request(number, at, at + self.shape.deadline_ms)
            self.requests.append(request)
            self.schedule(at, "arrival", request)
        now = 0
        while self.events:
            while self.events and self.events[0][0] <= now:
                time, _, kind, data = heapq.heappop(self.events)
                getattr(self, "on_" + kind)(time, data)
            if self.decide["client"] or self.decide["server"]:
                self.ask(now)
            if self.events:
                # Skip the ticks at which nothing happens: no one has anything to decide.
                due = self.events[0][0]
                now = max(now + TICK_MS, -(-due // TICK_MS) * TICK_MS)
        return self.result()

    def ask(self, now: int) -> None:
        """One tick: each policy decides on everything it was asked since the last one.

        The client is not asked about requests that ended meanwhile (their user has
        gone); the backend cannot know that, and decides on every attempt that reached it.
        """
        self.ticks += 1
        self.decide["client"] = [(e, s) for e, s in self.decide["client"] if not s.request.done]
        asked = [role for role in ROLES if self.decide[role]]  # news alone waits
        # Both questions go out before either answer is read: the two processes think
        # at the same time, and neither can see the other's question or answer.
        for role in asked:
            message = {"type": "tick", "now": now, "decide": [e for e, _ in self.decide[role]]}
            message["seen"] = self.seen[role]
            if role == "server":
                message["server"] = self.server_state(now)
            self.policies[role].post(message)
        replies = {role: self.policies[role].reply() for role in asked}
        for role in asked:
            pending = self.decide[role]
            answers = check_answers(role, replies[role], len(pending))
            self.decide[role], self.seen[role] = [], []
            for (_, subject), answer in zip(pending, answers, strict=True):
                if role == "client":
                    self.on_client_answer(now, subject, answer)
                else:
                    self.on_server_answer(now, subject, answer)

    def server_state(self, now: int) -> dict:
        oldest = now - self.queue[0].enqueued if self.queue else 0
        return {"queue": len(self.queue), "busy": self.busy, "oldest_ms": oldest}

    # -- the client library ------------------------------------------------------------

    def on_arrival(self, time: int, request: Request) -> None:
        self.series.add("requests", time)
        self.schedule(request.deadline, "deadline", request)
        event = {
            "kind": "request",
            "id": request.id,
            "at": time,
            "deadline": request.deadline,
            "rand": self.jitter.random(),
        }
        self.decide["client"].append((event, Subject(request)))

    def failure(self, time: int, attempt: Attempt, error: str) -> None:
        request = attempt.request
        request.waiting = None
        event = {
            "kind": "failure",
            "id": request.id,
            "attempt": attempt.number,
            "error": error,
            "at": time,
            "sent": attempt.sent,
            "deadline": request.deadline,
            "rand": self.jitter.random(),
        }
        self.decide["client"].append((event, Subject(request)))

    def on_client_answer(self, now: int, subject: Subject, answer: dict | None) -> None:
        request = subject.request
        if answer is None:
            self.finish(request, now, ok=False)  # shed by the client, or given up
            return
        if request.attempts >= MAX_ATTEMPTS:
            self.finish(request, now, ok=False)
            return
        send_at = now + answer["delay_ms"]
        if send_at >= request.deadline:
            return  # too late: the request fails at its deadline
        self.schedule(send_at, "send", (request, answer))

    def on_send(self, time: int, data: tuple[Request, dict]) -> None:
        request, answer = data
        if request.done:
            return
        request.attempts += 1
        deadline = answer["deadline"]
        attempt = Attempt(request, request.attempts, time, deadline)
        request.waiting = attempt
        self.schedule(time + answer["timeout_ms"], "timeout", attempt)
        if self.backend.random() < LOSS:
            return  # lost on the way, or its answer will be
        self.schedule(time + self.network(), "at_backend", attempt)

    def on_timeout(self, time: int, attempt: Attempt) -> None:
        if attempt.request.waiting is attempt:
            self.failure(time, attempt, "timeout")

    def on_deadline(self, time: int, request: Request) -> None:
        if not request.done:
            self.finish(request, time, ok=False)

    def on_response(self, time: int, data: tuple[Attempt, str]) -> None:
        attempt, outcome = data
        request = attempt.request
        if request.waiting is not attempt:
            if outcome == "ok":
                self.series.add("wasted", time)  # served, but nobody was waiting
            return
        if outcome == "ok":
            self.finish(request, time, ok=True)
            self.seen["client"].append(
                {
                    "kind": "success",
                    "id": request.id,
                    "attempt": attempt.number,
                    "at": time,
                    "sent": attempt.sent,
                }
            )
        else:
            self.failure(time, attempt, outcome)

    # -- the backend -------------------------------------------------------------------

    def on_at_backend(self, time: int, attempt: Attempt) -> None:
        self.series.add("offered", time)
        if attempt.number > 1:
            self.series.add("retries", time)
        if len(self.decide["server"]) >= BACKLOG:
            self.series.add("rejected", time)
            self.schedule(time + self.network(), "response", (attempt, "overloaded"))
            return
        event = {
            "kind": "attempt",
            "id": attempt.request.id,
            "attempt": attempt.number,
            "at": time,
            "deadline": attempt.deadline,
            "rand": self.jitter.random(),
        }
        self.decide["server"].append((event, Subject(attempt.request, attempt)))

    def on_server_answer(self, now: int, subject: Subject, admit: bool) -> None:
        attempt = subject.attempt
        if not admit or len(self.queue) >= QUEUE_LIMIT:
            self.series.add("rejected", now)
            self.schedule(now + self.network(), "response", (attempt, "overloaded"))
            return
        attempt.enqueued = now
        self.queue.append(attempt)
        self.dispatch(now)
        self.note_queue(now)

    def dispatch(self, now: int) -> None:
        while self.busy < WORKERS and self.queue:
            attempt = self.queue.popleft()
            if attempt.deadline is not None and now >= attempt.deadline:
                self.series.add("dropped", now)
                self.seen["server"].append(
                    {
                        "kind": "dropped",
                        "id": attempt.request.id,
                        "attempt": attempt.number,
                        "waited_ms": now - attempt.enqueued,
                    }
                )
                continue
            self.busy += 1
            if self.backend.random() < self.error_rate(now):
                outcome, took = "error", ERROR_SERVICE_MS
            else:
                mean = SERVICE_MS * self.service_factor(now)
                outcome, took = "ok", max(1, round(self.backend.expovariate(1 / mean)))
            self.schedule(now + took, "complete", (attempt, outcome, now))
        self.note_queue(now)

    def on_complete(self, time: int, data: tuple[Attempt, str, int]) -> None:
        attempt, outcome, started = data
        self.busy -= 1
        self.seen["server"].append(
            {
                "kind": "done",
                "id": attempt.request.id,
                "attempt": attempt.number,
                "outcome": outcome,
                "waited_ms": started - attempt.enqueued,
                "service_ms": time - started,
            }
        )
        self.schedule(time + self.network(), "response", (attempt, outcome))
        self.dispatch(time)

    # -- what comes out ----------------------------------------------------------------

    def result(self) -> Result:
        result = Result(self.seed, self.shape, ticks=self.ticks)
        queue = 0
        for second in range(self.shape.duration_s):
            queue = self.queue_at.get(second, queue)
            row = {name: self.series.get(name, second) for name in COLUMNS[1:10]}
            row["second"] = second
            row["queue"] = queue
            start_ms = second * 1000
            row["capacity"] = round(HEALTHY_CAPACITY / self.service_factor(start_ms))
            latencies = sorted(self.latencies.get(second, []))
            row["p50_ms"] = nearest_rank(latencies, 50)
            row["p99_ms"] = nearest_rank(latencies, 99)
            result.dashboard.append({name: row[name] for name in COLUMNS})
        result.requests = [(r.arrival, r.finished, r.ok, r.attempts) for r in self.requests]
        return result


@dataclass
class Subject:
    """What a decision is about: the request, and for the backend the attempt."""

    request: Request
    attempt: Attempt | None = None


def nearest_rank(ordered: list[int], percent: int) -> int | None:
    if not ordered:
        return None
    return ordered[max(1, -(-percent * len(ordered) // 100)) - 1]


# -- talking to policies --------------------------------------------------------------------


def _number(role: str, answer: dict, key: str, low: int) -> int:
    value = answer.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PolicyError(role, f"answered {key}={json.dumps(value)[:60]}: expected a number of ms")
    value = round(value)
    if not low <= value <= MAX_WAIT_MS:
        raise PolicyError(role, f"answered {key}={value}: expected {low} to {MAX_WAIT_MS} ms")
    return value


def check_answer(role: str, answer: object) -> object:
    """One answer, checked and normalised: the client's attempt (or None), the server's bool."""
    if role == "server":
        if not isinstance(answer, bool):
            raise PolicyError(role, f"answered {json.dumps(answer)[:80]}: expected true or false")
        return answer
    if answer is None:
        return None
    if not isinstance(answer, dict):
        raise PolicyError(
            role,
            f"answered {json.dumps(answer)[:80]}: expected null or an object with "
            "delay_ms and timeout_ms",
        )
    deadline = answer.get("deadline")
    if deadline is not None:
        if (
            isinstance(deadline, bool)
            or not isinstance(deadline, int | float)
            or not math.isfinite(deadline)
        ):
            raise PolicyError(role, f"answered deadline={json.dumps(deadline)[:60]}: expected ms")
        deadline = round(deadline)
    return {
        "delay_ms": _number(role, answer, "delay_ms", 0),
        "timeout_ms": _number(role, answer, "timeout_ms", 1),
        "deadline": deadline,
    }


def check_answers(role: str, reply: object, expected: int) -> list:
    if not isinstance(reply, dict) or not isinstance(reply.get("answers"), list):
        raise PolicyError(role, 'answered without a list of "answers"')
    answers = reply["answers"]
    if len(answers) != expected:
        raise PolicyError(
            role, f"gave {len(answers)} answers to {expected} questions: one per decide event"
        )
    return [check_answer(role, answer) for answer in answers]


def parse_reply(role: str, line: str) -> dict:
    try:
        reply = json.loads(line)
    except json.JSONDecodeError:
        problem = f"answered a line that is not JSON: {line[:200]!r} (debug output goes to stderr)"
        raise PolicyError(role, problem) from None
    if not isinstance(reply, dict):
        raise PolicyError(role, f"answered {type(reply).__name__}, expected a JSON object")
    return reply


class PipePolicy:
    """The policy running as its own process, spoken to over its standard input and output."""

    def __init__(self, role: str, command: list[str], cwd: str | None = None) -> None:
        self.role = role
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def post(self, message: dict) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise PolicyError(self.role, "stopped reading its input (did it crash?)") from None

    def reply(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline(MAX_LINE_BYTES)
        if not line:
            raise PolicyError(self.role, "exited or closed its output (did it crash?)")
        return parse_reply(self.role, line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def simulate(seed: int, shape: Shape, policies: dict) -> Result:
    """Run one seed and shape against `policies`: role -> object with post(message)
    and reply() -> dict, the answer to the message posted last."""
    return Simulation(seed, shape, policies).run()


# -- command line ------------------------------------------------------------------------


def summary(result: Result) -> str:
    """A few lines for the terminal: the shape, the totals, and every fifth second."""
    total = len(result.requests)
    ok = sum(1 for _, _, succeeded, _ in result.requests if succeeded)
    attempts = sum(sent for *_, sent in result.requests)
    lines = [
        f"seed {result.seed}, {result.shape.describe()}",
        f"{total} requests, {ok} answered ({ok / max(1, total):.1%}), {attempts} attempts "
        f"({attempts / max(1, total):.2f} per request)",
        "",
        " second  requests  offered  goodput    queue  capacity",
    ]
    for row in result.dashboard[::5]:
        lines.append(
            f"{row['second']:7d} {row['requests']:9d} {row['offered']:8d} {row['goodput']:8d} "
            f"{row['queue']:8d} {row['capacity']:9d}"
        )
    return "\n".join(lines)


def dashboard_csv(result: Result) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in result.dashboard:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def run_with_processes(seed: int, shape: Shape, command: list[str]) -> Result:
    policies = {role: PipePolicy(role, command) for role in ROLES}
    try:
        return simulate(seed, shape, policies)
    finally:
        for policy in policies.values():
            policy.close()


def main(argv: Iterable[str] | None = None, run: Callable = run_with_processes) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="your seed, from the lab page")
    parser.add_argument("--shape", choices=SHAPES, default="incident")
    parser.add_argument("--policy", default="policy.py", help="the policy (default policy.py)")
    parser.add_argument("--out", default=None, help="where to write (default runs/SHAPE-SEED/)")
    args = parser.parse_args(argv)
    shape = shape_for(args.shape, args.seed)
    try:
        result = run(args.seed, shape, [sys.executable, args.policy])
    except PolicyError as error:
        print(f"the simulation stopped: {error}", file=sys.stderr)
        return 1
    directory = Path(args.out or f"runs/{args.shape}-{args.seed}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dashboard.csv").write_text(dashboard_csv(result))
    text = summary(result)
    (directory / "summary.txt").write_text(text + "\n")
    print(text)
    print(f"dashboard: {directory / 'dashboard.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
