"""A deterministic scheduler for cache.py's threads, in the style of CHESS, Loom and
FoundationDB's simulator.

A thread is a list of calls to cache.py (get, update, refresh). Each call is a generator
that yields one operation at a time on the shared world -- the database, the cache and
the locks, which live here and nowhere else -- and gets the operation's result back.
Every yield is a scheduling point, and the scheduler alone decides which thread takes
the next step. A *schedule* is those decisions written down: the thread that runs each
step, in order, such as [1, 1, 0, 0, 0, 1]. The same schedule replays the same run.

Switching threads is a *preemption* when the thread that ran the step before could have
gone on. A switch is free when that thread has finished, waits for a lock another thread
holds, or has just paused. Most concurrency bugs need very few preemptions (Musuvathi
and Qadeer, "Iterative context bounding for systematic testing of multithreaded
programs", PLDI 2007), so trying *every* schedule with at most one or two of them finds
bugs that a scheduler which preempts rarely, like an operating system's, misses for a
thousand runs.

A run fails at the first step where one of these breaks:

- no stale cache: once every thread has finished, each cached price is the database's;
- no stale read: a get never returns a price older than the price of an update that had
  returned before the get's first step;
- updates are durable: when update(key, price) returns, the database has had that price;
- only update(key, price) writes the database, and only that key and price;
- the cache holds only prices the database has had for that key;
- locks: no deadlock, no acquiring a lock the thread already holds (locks are not
  re-entrant), no releasing a lock it does not hold, no finishing with a lock held;
- no call takes more than MAX_CALL_STEPS steps (a thread that spins forever);
- cache.py answers every question: no exception, no operation but OPERATIONS (names of
  at most MAX_NAME characters), no call returning anything but a price or None.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

MAX_CALL_STEPS = 40
# An exhaustive search stops past this many distinct states (the reference cache needs a
# few thousand at most): code that takes far more steps than it needs cannot be searched.
STATE_LIMIT = 50_000
MAX_NAME = 100  # the longest key or lock name an operation may use
# Each operation's arguments after its name, by type. bool is not an int here.
OPERATIONS: dict[str, tuple[type, ...]] = {
    "cache.get": (str,),
    "cache.gets": (str,),
    "cache.set": (str, int),
    "cache.cas": (str, int, int),
    "cache.delete": (str,),
    "db.read": (str,),
    "db.write": (str, int),
    "lock.acquire": (str,),
    "lock.release": (str,),
    "pause": (),
}
# The operations whose result a trace shows (the others always get None).
ANSWERING = frozenset({"cache.get", "cache.gets", "cache.cas", "db.read"})
HERE = Path(__file__).resolve().parent


def thread_name(index: int) -> str:
    return f"t{index}"


def describe_call(call: tuple) -> str:
    """("update", "kettle", 420) -> update('kettle', 420)"""
    name, *args = call
    return f"{name}({', '.join(repr(arg) for arg in args)})"


def describe_op(op: tuple) -> str:
    name, *args = op
    return " ".join([name, *(json.dumps(arg) for arg in args)])


@dataclass(frozen=True)
class Scenario:
    """The threads of one run, what each calls in order, and the world they start in."""

    title: str
    prices: tuple[tuple[str, int], ...]  # the database at the start
    cached: tuple[str, ...]  # keys the cache holds at the start, at the database's price
    threads: tuple[tuple[tuple, ...], ...]  # per thread, its calls in order

    def describe(self) -> str:
        database = ", ".join(f"{key} = {price}" for key, price in self.prices)
        lines = [
            self.title,
            f"  database: {database}",
            f"  cache:    {', '.join(self.cached) or 'empty'} (at the database's price)",
        ]
        for index, calls in enumerate(self.threads):
            lines.append(f"  {thread_name(index)}: {'; '.join(describe_call(c) for c in calls)}")
        return "\n".join(lines)


# -- the threads: cache.py behind threads.py ---------------------------------------------


class HostError(Exception):
    """threads.py could not be asked at all (it exited or hung): no run can go on."""


@dataclass(frozen=True)
class Answer:
    returned: tuple = ()
    op: tuple | None = None
    error: str = ""  # cache.py raised, or answered something unreadable


def read_op(op) -> tuple | None:
    """The operation a thread yielded, as a tuple, or None when it is not one we know."""
    if not isinstance(op, list) or not op or not isinstance(op[0], str) or op[0] not in OPERATIONS:
        return None
    types = OPERATIONS[op[0]]
    args = op[1:]
    if len(args) != len(types):
        return None
    for arg, kind in zip(args, types, strict=True):
        if not isinstance(arg, kind) or isinstance(arg, bool):
            return None
        if kind is str and len(arg) > MAX_NAME:
            return None
    return tuple(op)


def read_answer(reply) -> Answer:
    """threads.py's answer, checked: a malformed one becomes an error of the thread."""
    try:
        return _read_answer(reply)
    except RecursionError:
        return Answer(error="threads.py answered something nested too deeply to read")


def _read_answer(reply) -> Answer:
    if not isinstance(reply, dict):
        return Answer(error=f"threads.py answered {json.dumps(reply)[:200]}, not an object")
    if "error" in reply:
        return Answer(error=str(reply["error"])[:500])
    returned, op = reply.get("returned"), reply.get("op")
    if not isinstance(returned, list):
        return Answer(error=f"threads.py answered without a list of returns: {reply!r:.200}")
    for value in returned:
        if not (value is None or type(value) is int):
            return Answer(
                error=f"returned {json.dumps(value)[:60]}: a call returns a price or None"
            )
    if op is None:
        return Answer(returned=tuple(returned))
    checked = read_op(op)
    if checked is None:
        known = ", ".join(OPERATIONS)
        return Answer(error=f"yielded {json.dumps(op)[:200]}, which is none of: {known}")
    return Answer(returned=tuple(returned), op=checked)


class Threads:
    """cache.py's calls as the scheduler sees them. Each question is asked once and its
    answer remembered, so a thread is a function of the results it has seen."""

    def __init__(self, ask: Callable[[dict], object]) -> None:
        self.ask = ask
        self.answers: dict[tuple, Answer] = {}

    @property
    def questions(self) -> int:
        return len(self.answers)

    def next(self, calls: tuple, results: tuple) -> Answer:
        key = (calls, results)
        answer = self.answers.get(key)
        if answer is None:
            answer = read_answer(self.ask({"calls": calls, "results": results}))
            self.answers[key] = answer
        return answer


class HostProcess:
    """threads.py as a process of its own on this machine, asked over its pipes."""

    def __init__(self, cache_file: Path | None = None) -> None:
        command = [sys.executable, str(HERE / "threads.py")]
        if cache_file is not None:
            command.append(str(cache_file))
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def ask(self, question: dict) -> object:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(question) + "\n")
            self.process.stdin.flush()
        except OSError:
            raise HostError("threads.py stopped reading its input (did it crash?)") from None
        line = self.process.stdout.readline()
        if not line:
            raise HostError("threads.py exited (did cache.py fail to import?)")
        try:
            return json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            return f"a line that is not JSON: {line[:200]!r}"

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the world and one step of it --------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    step: int  # the step in which it broke (the last step, for checks at the end)
    thread: int | None
    message: str


@dataclass(frozen=True)
class ThreadState:
    results: tuple = ()  # what each of its operations got back, in order
    call: int = 0  # the call in progress; len(calls) once all have returned
    call_steps: int = 0  # steps taken in the call in progress
    floor: int = 0  # for a get in progress: the oldest database version it may return,
    # fixed by the get's first step
    op: tuple | None = None  # the operation it yields next; None once finished
    paused: bool = False  # it paused and no other thread has stepped since


@dataclass
class State:
    db: dict[str, tuple[int, ...]]  # every price each key has had, oldest first
    cache: dict[str, tuple[int | None, int]]  # key -> (price or None, version)
    locks: dict[str, int]  # lock name -> the thread holding it
    # key -> (db version, thread): the newest price a returned update had written
    durable: dict[str, tuple[int, int]]
    threads: list[ThreadState]
    last: int | None = None  # the thread that took the last step
    preemptions: int = 0
    steps: int = 0
    violation: Violation | None = None
    ended: bool = False  # every thread finished (and the end was checked)

    def copy(self) -> State:
        return replace(
            self,
            db=dict(self.db),
            cache=dict(self.cache),
            locks=dict(self.locks),
            durable=dict(self.durable),
            threads=list(self.threads),
        )

    def key(self) -> tuple:
        """Everything the rest of a run depends on: equal keys, equal futures."""
        return (
            tuple(sorted(self.db.items())),
            tuple(sorted(self.cache.items())),
            tuple(sorted(self.locks.items())),
            tuple(sorted(self.durable.items())),
            tuple(self.threads),
            self.last,
            self.preemptions,
            self.violation,
        )

    @property
    def terminal(self) -> bool:
        return self.violation is not None or self.ended


@dataclass(frozen=True)
class Event:
    """One step as a trace shows it, or a call returning (op None)."""

    step: int
    thread: int
    call: int
    op: tuple | None
    result: object


class Machine:
    """Runs one scenario's threads on the world, one step at a time."""

    def __init__(self, scenario: Scenario, threads: Threads, *, record: bool = False) -> None:
        self.scenario = scenario
        self.threads = threads
        self.record = record
        self.events: list[Event] = []

    # -- starting, stepping, ending --------------------------------------------------

    def start(self) -> State:
        prices = dict(self.scenario.prices)
        state = State(
            db={key: (price,) for key, price in prices.items()},
            cache={
                key: (price if key in self.scenario.cached else None, 0)
                for key, price in prices.items()
            },
            locks={},
            durable={},
            threads=[ThreadState() for _ in self.scenario.threads],
        )
        self.events = []
        for index in range(len(state.threads)):
            self._advance(state, index)
            if state.violation:
                break
        self._settle(state)
        return state

    def step(self, state: State, index: int) -> State:
        """The state after thread `index` performs its next operation (a new state)."""
        state = state.copy()
        thread = state.threads[index]
        op = thread.op
        assert op is not None
        if thread.call_steps == 0:  # the call begins with this step
            thread = replace(thread, floor=self._floor(state, thread.call, index))
        state.steps += 1
        result = self._perform(state, index, op)
        if self.record:
            self.events.append(Event(state.steps, index, thread.call, op, result))
        if state.violation:
            return state
        for other, other_state in enumerate(state.threads):
            if other != index and other_state.paused:
                state.threads[other] = replace(other_state, paused=False)
        state.threads[index] = replace(
            thread,
            results=thread.results + (result,),
            call_steps=thread.call_steps + 1,
            paused=op[0] == "pause",
        )
        if thread.call_steps + 1 > MAX_CALL_STEPS:
            call = self.scenario.threads[index][thread.call]
            self._fail(
                state,
                index,
                f"{describe_call(call)} took more than {MAX_CALL_STEPS} steps: it is spinning "
                "on something that does not change (or waits for a thread that cannot run)",
            )
            return state
        self._advance(state, index)
        self._settle(state)
        return state

    def enabled(self, state: State) -> list[int]:
        """The threads that may take the next step (a paused one only if no other can)."""
        if state.terminal:
            return []
        runnable = [i for i in range(len(state.threads)) if self.runnable(state, i)]
        eager = [i for i in runnable if not state.threads[i].paused]
        return eager or runnable

    def runnable(self, state: State, index: int) -> bool:
        """Whether thread `index` has a next step it can take, paused or not."""
        return state.threads[index].op is not None and not self.waits(state, index)

    def can_go_on(self, state: State, index: int | None) -> bool:
        """Whether `index` could take the next step itself: switching away costs a preemption."""
        return (
            index is not None and index in self.enabled(state) and not state.threads[index].paused
        )

    def preempts(self, state: State, index: int) -> bool:
        return index != state.last and self.can_go_on(state, state.last)

    # -- what one operation does ------------------------------------------------------

    def _perform(self, state: State, index: int, op: tuple) -> object:
        name, *args = op
        thread = state.threads[index]
        call = self.scenario.threads[index][thread.call]
        if name == "pause":
            return None
        if name.startswith("lock."):
            return self._lock(state, index, name, args[0])
        key = args[0]
        price, version = state.cache.get(key, (None, 0))
        if name == "cache.get":
            return price
        if name == "cache.gets":
            return (price, version)
        if name == "cache.set":
            self._store(state, index, key, args[1])
            return None
        if name == "cache.cas":
            if args[2] != version:
                return False
            self._store(state, index, key, args[1])
            return True
        if name == "cache.delete":
            state.cache[key] = (None, version + 1)
            return None
        if key not in state.db:
            self._fail(
                state,
                index,
                f"{describe_call(call)} asked the database for {key!r}, which has no such product",
            )
            return None
        if name == "db.read":
            return state.db[key][-1]
        if call != ("update", key, args[1]):
            self._fail(
                state,
                index,
                f"{describe_call(call)} wrote {key} = {args[1]} to the database: only "
                "update(key, price) may write it, and only its own key and price",
            )
            return None
        state.db[key] = state.db[key] + (args[1],)
        return None

    def _lock(self, state: State, index: int, name: str, lock: str) -> None:
        holder = state.locks.get(lock)
        if name == "lock.acquire":
            if holder == index:
                self._fail(
                    state,
                    index,
                    f"acquired lock {lock!r} while already holding it: locks here are not "
                    "re-entrant, so it would wait for itself forever",
                )
            state.locks[lock] = index
        elif holder != index:
            who = "no thread" if holder is None else thread_name(holder)
            self._fail(state, index, f"released lock {lock!r}, which {who} holds, not it")
        else:
            del state.locks[lock]

    def _store(self, state: State, index: int, key: str, price: int) -> None:
        if price not in state.db.get(key, ()):
            self._fail(
                state,
                index,
                f"put {key} = {price} in the cache, a price the database never had for "
                f"{key!r}: the storefront reads the cache directly",
            )
            return
        state.cache[key] = (price, state.cache.get(key, (None, 0))[1] + 1)

    def waits(self, state: State, index: int) -> bool:
        """Whether thread `index` waits to acquire a lock another thread holds."""
        op = state.threads[index].op
        return bool(op and op[0] == "lock.acquire" and state.locks.get(op[1], index) != index)

    # -- calls returning --------------------------------------------------------------

    def _advance(self, state: State, index: int) -> None:
        """Ask the thread what it does next; record the calls that returned meanwhile."""
        calls = self.scenario.threads[index]
        thread = state.threads[index]
        answer = self.threads.next(calls, thread.results)
        if answer.error:
            current = describe_call(calls[min(thread.call, len(calls) - 1)])
            self._fail(state, index, f"{current} failed: {answer.error}")
            return
        for value in answer.returned:
            if thread.call >= len(calls):
                self._fail(state, index, "returned from more calls than it was given")
                return
            # A call that took no step began as it returned.
            floor = thread.floor if thread.call_steps else self._floor(state, thread.call, index)
            self._returned(state, index, calls[thread.call], value, floor)
            if state.violation:
                return
            if self.record:
                self.events.append(Event(state.steps, index, thread.call, None, value))
            thread = replace(thread, call=thread.call + 1, call_steps=0, floor=0)
        if answer.op is None and thread.call < len(calls):
            current = describe_call(calls[thread.call])
            self._fail(state, index, f"{current} stopped without returning")
            return
        if answer.op is not None and thread.call == len(calls):
            self._fail(state, index, f"yielded {describe_op(answer.op)} after its last call")
            return
        state.threads[index] = replace(thread, op=answer.op)
        if answer.op is None:
            held = sorted(lock for lock, holder in state.locks.items() if holder == index)
            if held:
                self._fail(state, index, f"finished while holding lock {held[0]!r}")

    def _floor(self, state: State, call_index: int, index: int) -> int:
        """For a get that begins now: the database version of the latest update of its
        key that has returned, the oldest price it may return."""
        call = self.scenario.threads[index][call_index]
        return state.durable.get(call[1], (0, index))[0] if call[0] == "get" else 0

    def _returned(self, state: State, index: int, call: tuple, value: object, floor: int) -> None:
        name, key, *rest = call
        if name == "update":
            history = state.db[key]
            if rest[0] not in history:
                self._fail(
                    state,
                    index,
                    f"{describe_call(call)} returned before the database had {rest[0]}",
                )
                return
            version = len(history) - 1 - history[::-1].index(rest[0])
            if version > state.durable.get(key, (-1, index))[0]:
                state.durable[key] = (version, index)
        elif name == "get":
            history = state.db[key]
            if type(value) is not int or value not in history:
                self._fail(
                    state,
                    index,
                    f"{describe_call(call)} returned {json.dumps(value)[:40]}, a price the "
                    f"database never had for {key!r}",
                )
            elif value not in history[floor:]:
                version, writer = state.durable[key]
                self._fail(
                    state,
                    index,
                    f"{describe_call(call)} returned {value}, but {thread_name(writer)}'s "
                    f"update({key!r}, {history[version]}) had returned before this get's "
                    "first step: a customer was shown a price that was already gone",
                )

    # -- the end ----------------------------------------------------------------------

    def _settle(self, state: State) -> None:
        """When no thread can step: a deadlock, or the end and its stale-cache check."""
        if state.terminal or self.enabled(state):
            return
        waiting = [i for i, t in enumerate(state.threads) if t.op is not None]
        if waiting:
            waits = "; ".join(
                f"{thread_name(i)} waits for lock {state.threads[i].op[1]!r}, held by "
                f"{thread_name(state.locks[state.threads[i].op[1]])}"
                for i in waiting
            )
            state.violation = Violation(state.steps, None, f"deadlock: {waits}")
            return
        for key, (price, _) in sorted(state.cache.items()):
            current = state.db.get(key, (None,))[-1]
            if price is not None and price != current:
                state.violation = Violation(
                    state.steps,
                    None,
                    f"stale cache: every thread has finished, and the cache holds {key} = "
                    f"{price} while the database holds {current}; every later get({key!r}) "
                    "serves the old price",
                )
                return
        state.ended = True

    def _fail(self, state: State, index: int, message: str) -> None:
        if state.violation is None:
            state.violation = Violation(state.steps, index, f"{thread_name(index)}: {message}")


# -- runs, schedules and explorers -------------------------------------------------------


@dataclass
class Run:
    """One run, step by step: the schedule it followed and how it ended."""

    schedule: list[int]
    preemptions: int
    state: State
    events: list[Event] = field(default_factory=list)
    problem: str = ""  # the schedule could not be followed: why

    @property
    def violation(self) -> Violation | None:
        return self.state.violation


def _take(machine: Machine, state: State, index: int) -> State:
    cost = 1 if machine.preempts(state, index) else 0
    after = machine.step(state, index)
    after.last = index
    after.preemptions = state.preemptions + cost
    return after


def why_not(machine: Machine, state: State, index: int) -> str:
    """Why thread `index` may not take the next step."""
    count = len(state.threads)
    if not 0 <= index < count:
        return f"there is no {thread_name(index)}: this run's threads are t0 to t{count - 1}"
    thread = state.threads[index]
    name = thread_name(index)
    if thread.op is None:
        return f"{name} has finished"
    if machine.waits(state, index):
        lock = thread.op[1]
        return f"{name} waits for lock {lock!r}, held by {thread_name(state.locks[lock])}"
    return f"{name} has just paused, so another thread runs first"


def follow(machine: Machine, schedule: list[int]) -> Run:
    """Replay `schedule`: it must name a thread that may step at every step, until an
    invariant breaks or every thread has finished. The run's events are recorded."""
    machine.record = True
    try:
        return _follow(machine, schedule)
    finally:
        machine.record = False


def _follow(machine: Machine, schedule: list[int]) -> Run:
    state = machine.start()
    taken: list[int] = []
    for position, index in enumerate(schedule, start=1):
        if state.violation:
            break
        if state.ended:
            problem = (
                f"the run ended after {state.steps} steps with every invariant intact, but "
                f"the schedule lists {len(schedule)} steps"
            )
            return Run(taken, state.preemptions, state, machine.events, problem)
        if index not in machine.enabled(state):
            problem = (
                f"step {position} names {thread_name(index)}, but {why_not(machine, state, index)}"
            )
            return Run(taken, state.preemptions, state, machine.events, problem)
        state = _take(machine, state, index)
        taken.append(index)
    problem = ""
    if not state.terminal:
        left = ", ".join(thread_name(i) for i, t in enumerate(state.threads) if t.op)
        problem = (
            f"the schedule ends after {len(schedule)} steps, but {left} had not finished: "
            "list every step until an invariant breaks or every thread has finished"
        )
    return Run(taken, state.preemptions, state, machine.events, problem)


def run_alone(machine: Machine, state: State, index: int, steps: int | None = None) -> State:
    """Let one thread step on its own, as if every other thread were stopped: `steps`
    times, or until it finishes, waits for a lock or breaks an invariant."""
    taken = 0
    while (
        (steps is None or taken < steps) and not state.terminal and machine.runnable(state, index)
    ):
        state = _take(machine, state, index)
        taken += 1
    return state


def random_run(machine: Machine, rng: random.Random, switch: float) -> Run:
    """One run as an operating system might schedule it: the running thread keeps going,
    and before each step a timer interrupt switches to a random thread with probability
    `switch`."""
    state = machine.start()
    taken: list[int] = []
    while not state.terminal:
        choices = machine.enabled(state)
        if machine.can_go_on(state, state.last) and rng.random() >= switch:
            index = state.last
        else:
            index = rng.choice(choices)
        state = _take(machine, state, index)
        taken.append(index)
    return Run(taken, state.preemptions, state)


@dataclass
class Exploration:
    """What a bounded exhaustive search saw."""

    bound: int
    schedules: int = 0  # complete schedules with at most `bound` preemptions
    failing: int = 0  # of those, the ones that broke an invariant
    states: int = 0  # distinct states visited
    first_failure: list[int] | None = None  # the first failing schedule found
    complete: bool = True  # False: it stopped at STATE_LIMIT states, or at the first failure


class _Stop(Exception):
    pass


def explore(
    machine: Machine, bound: int, *, stop_at_first: bool = False, limit: int = STATE_LIMIT
) -> Exploration:
    """Every schedule with at most `bound` preemptions, depth first (the thread that ran
    last goes on first). States reached twice are searched once: their futures are the
    same, so the counts below them are reused."""
    found = Exploration(bound)
    below: dict[tuple, tuple[int, int]] = {}
    path: list[int] = []

    def visit(state: State) -> tuple[int, int]:
        key = state.key()
        if key in below:
            return below[key]
        if len(below) >= limit:
            raise _Stop
        if state.terminal:
            failing = 1 if state.violation else 0
            if failing and found.first_failure is None:
                found.first_failure = list(path)
                if stop_at_first:
                    raise _Stop
            counts = (1, failing)
        else:
            choices = machine.enabled(state)
            if state.last in choices:
                choices.remove(state.last)
                choices.insert(0, state.last)
            schedules = failing = 0
            for index in choices:
                if state.preemptions + machine.preempts(state, index) > bound:
                    continue
                path.append(index)
                more, worse = visit(_take(machine, state, index))
                path.pop()
                schedules += more
                failing += worse
            counts = (schedules, failing)
        below[key] = counts
        return counts

    depth = sys.getrecursionlimit()
    sys.setrecursionlimit(max(depth, 20_000))  # one level per step of the longest schedule
    try:
        found.schedules, found.failing = visit(machine.start())
    except _Stop:
        found.complete = False
    finally:
        sys.setrecursionlimit(depth)
    found.states = len(below)
    return found


def fewest_preemptions(machine: Machine, up_to: int) -> tuple[int, list[int]] | None:
    """(the fewest preemptions a failing schedule has, one such schedule), searching
    bound 0, 1, ... up to `up_to` in turn (iterative context bounding); None if none fails."""
    for bound in range(up_to + 1):
        found = explore(machine, bound, stop_at_first=True)
        if found.first_failure is not None:
            return bound, found.first_failure
    return None


# -- schedules as files ------------------------------------------------------------------


def parse_schedule(text: str) -> tuple[list[int] | None, str]:
    """(thread numbers, problem): a schedule is one JSON list naming one thread per step,
    by number (1) or by name ("t1")."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"not valid JSON ({error}): expected a list such as [0, 0, 1, 1, 0]"
    if not isinstance(value, list):
        return None, "expected one JSON list of thread numbers, such as [0, 0, 1, 1, 0]"
    schedule = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, list):
            return None, (
                f"step {position} is a list: hand in exactly one schedule, a flat list "
                "naming one thread per step"
            )
        number = _thread_number(item)
        if number is None:
            return None, (
                f"step {position} is {json.dumps(item)[:60]}: each step names exactly one "
                'thread, as a number (1) or a name ("t1")'
            )
        schedule.append(number)
    return schedule, ""


def _thread_number(item: object) -> int | None:
    if type(item) is int and item >= 0:
        return item
    if isinstance(item, str) and item.startswith("t") and item[1:].isdigit():
        return int(item[1:])
    return None


def trace_lines(machine: Machine, run: Run) -> Iterator[str]:
    """The run as a table: step, thread, the call it is in, the operation and its result."""
    calls = machine.scenario.threads
    for event in run.events:
        call = describe_call(calls[event.thread][event.call])
        who = thread_name(event.thread)
        if event.op is None:
            yield f"{'':>5}  {who:<3} {call:<26} returned {json.dumps(event.result)}"
        else:
            answers = event.op[0] in ANSWERING
            result = f" -> {json.dumps(event.result)}" if answers else ""
            yield f"{event.step:>5}  {who:<3} {call:<26} {describe_op(event.op)}{result}"
