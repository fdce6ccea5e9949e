"""The runs this lab is about: your incident, drawn from your seed, and two fixed sets of
solo runs that say whether a cache still caches and whether products wait for each other.

Your incident is the handful of request threads that were running when the storefront
showed a wrong price: which calls each made, in what order, on which products, and what
the database and the cache held when they started. Every seed gives another incident:
other products, prices, threads and calls, and one of three races at its heart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from scheduler import Machine, Scenario, Threads, describe_call, run_alone

PRODUCTS = (
    "kettle",
    "teapot",
    "mug",
    "grinder",
    "scale",
    "carafe",
    "dripper",
    "tamper",
    "canister",
    "filter",
    "tray",
    "whisk",
)
# The race at the heart of an incident, by the calls that meet on one product: a get that
# missed and an update; the refresher and an update; two updates; all three at once.
SHAPES = ("fill", "refresh", "write-through", "crowd")
RACING = {
    "fill": ("get", "update"),
    "refresh": ("refresh", "update"),
    "write-through": ("update", "update"),
    "crowd": ("get", "refresh", "update"),
}
MAX_CALLS_PER_THREAD = 3
# Exhaustive exploration of an incident stops here: every schedule with at most this many
# preemptions (the checker uses the same bound).
BOUND = 2


def incident(seed: int, shape: str | None = None, title: str | None = None) -> Scenario:
    """The incident of `seed`: two or three threads, two or three of them racing on one
    product, among calls on two other products."""
    rng = random.Random(f"heisenbug-race incident {seed}")
    drawn = SHAPES[rng.randrange(len(SHAPES))]  # drawn either way: the same products follow
    shape = shape or drawn
    hot, *others = rng.sample(PRODUCTS, 3)
    prices = iter(rng.sample(range(100, 1000), 9))
    database = {key: next(prices) for key in (hot, *others)}
    racing = [_new_call(kind, hot, prices) for kind in RACING[shape]]
    count = max(len(racing), rng.choice((2, 3, 3)))
    cached = {key for key in others if rng.random() < 0.5}
    if "get" not in RACING[shape] and rng.random() < 0.5:
        cached.add(hot)  # a get that hits cannot race: only a cold product is a fill
    threads: list[list[tuple]] = [[] for _ in range(count)]
    for index, call in zip(rng.sample(range(count), len(racing)), racing, strict=True):
        threads[index].append(call)
    for _ in range(rng.randint(1, 3)):
        calls = rng.choice([t for t in threads if len(t) < MAX_CALLS_PER_THREAD])
        calls.insert(rng.randint(0, len(calls)), _decoy(rng, others, prices))
    for calls in threads:
        if not calls:
            calls.append(("get", rng.choice(others)))
    return Scenario(
        title=title or f"incident {seed}",
        prices=tuple(database.items()),
        cached=tuple(sorted(cached)),
        threads=tuple(tuple(calls) for calls in threads),
    )


def _decoy(rng: random.Random, keys: list[str], prices) -> tuple:
    """A call on another product: not the race that was reported."""
    return _new_call(rng.choice(("get", "get", "update", "refresh")), rng.choice(keys), prices)


def _new_call(kind: str, key: str, prices) -> tuple:
    """A call of `kind` on `key`; an update takes the next unused price."""
    return ("update", key, next(prices)) if kind == "update" else (kind, key)


# -- does the cache still cache? ---------------------------------------------------------

# Every product has a price of its own in the runs below, and an update to another one.
_PRICES = random.Random("heisenbug-race solo runs").sample(range(100, 1000), 2 * len(PRODUCTS))
PRICE = dict(zip(PRODUCTS, _PRICES[::2], strict=True))
NEW_PRICE = dict(zip(PRODUCTS, _PRICES[1::2], strict=True))
RULES = (
    "a get of a cached product reads no database",
    "a get that missed leaves the price cached: the next get reads no database",
    "after an update, the second get reads no database",
    "refresh leaves the price cached: the next get reads no database",
)


@dataclass(frozen=True)
class ContractRun:
    """One thread alone, on one product; the call at `no_read` must not read the database."""

    rule: str
    scenario: Scenario
    no_read: int


def contract_runs() -> list[ContractRun]:
    """Each rule of the cache contract, on every product."""
    runs = []
    for key in PRODUCTS:
        shapes = (
            ((key,), (("get", key),), 0),
            ((), (("get", key), ("get", key)), 1),
            ((key,), (("update", key, NEW_PRICE[key]), ("get", key), ("get", key)), 2),
            ((), (("refresh", key), ("get", key)), 1),
        )
        for rule, (cached, calls, no_read) in zip(RULES, shapes, strict=True):
            title = "; ".join(describe_call(call) for call in calls)
            scenario = Scenario(title, ((key, PRICE[key]),), cached, (calls,))
            runs.append(ContractRun(rule, scenario, no_read))
    return runs


def contract_result(threads: Threads, run: ContractRun) -> str:
    """ "" when the run keeps the rule, else what happened."""
    machine = Machine(run.scenario, threads, record=True)
    state = run_alone(machine, machine.start(), 0)
    if state.violation:
        return f"{run.scenario.title}: {state.violation.message}"
    reads = sum(
        1 for e in machine.events if e.call == run.no_read and e.op and e.op[0] == "db.read"
    )
    if reads:
        call = describe_call(run.scenario.threads[0][run.no_read])
        return f"{run.scenario.title}: the last {call} read the database"
    return ""


def contract(threads: Threads) -> dict[str, tuple[int, list[str]]]:
    """rule -> (products tried, what happened where the rule broke)."""
    kept: dict[str, tuple[int, list[str]]] = {rule: (0, []) for rule in RULES}
    for run in contract_runs():
        tried, broken = kept[run.rule]
        result = contract_result(threads, run)
        kept[run.rule] = (tried + 1, broken + [result] if result else broken)
    return kept


# -- does one product wait for another? --------------------------------------------------

# The call a thread is stopped in, and the call another thread then makes on its own,
# each on a product of its own; "get (cached)" finds its product in the cache.
KINDS = ("get", "get (cached)", "update", "refresh")


def _solo_call(kind: str, key: str) -> tuple:
    if kind == "update":
        return ("update", key, NEW_PRICE[key])
    return ("get" if kind.startswith("get") else kind, key)


def pairs() -> list[Scenario]:
    """t0 makes one kind of call on a product, t1 another kind on another product: every
    pair of kinds, with every product stopped once per pair, next to a partner that moves
    along the list from one pair of kinds to the next."""
    scenarios = []
    kinds = [(stopped, alone) for stopped in KINDS for alone in KINDS]
    for offset, (stopped, alone) in enumerate(kinds):
        for position, key in enumerate(PRODUCTS):
            other = PRODUCTS[(position + 1 + offset % (len(PRODUCTS) - 1)) % len(PRODUCTS)]
            cached = tuple(
                k for kind, k in ((stopped, key), (alone, other)) if kind == "get (cached)"
            )
            scenarios.append(
                Scenario(
                    f"t0 {stopped} on {key}, t1 {alone} on {other}",
                    ((key, PRICE[key]), (other, PRICE[other])),
                    cached,
                    ((_solo_call(stopped, key),), (_solo_call(alone, other),)),
                )
            )
    return scenarios


@dataclass(frozen=True)
class Wait:
    """t1, running on its own while t0 is stopped after `after` steps, could not finish."""

    scenario: Scenario
    after: int
    why: str


def independence(threads: Threads) -> tuple[int, list[Wait]]:
    """(stops tried, the ones at which t1 could not finish alone).

    In every pair, t0 is stopped after each step it takes inside its call (after its
    first step and before its last), and t1 then runs on its own: a call on another
    product must finish without t0 taking another step.
    """
    tried, waits = 0, []
    for scenario in pairs():
        machine = Machine(scenario, threads)
        after = 1
        while True:
            state = run_alone(machine, machine.start(), 0, after)
            if state.violation or state.threads[0].op is None:
                break  # t0's call is over (or broke on its own): no more stops
            tried += 1
            state = run_alone(machine, state, 1)
            if state.threads[1].op is not None or state.violation:
                why = state.violation.message if state.violation else _blocked(state)
                waits.append(Wait(scenario, after, why))
            after += 1
    return tried, waits


def _blocked(state) -> str:
    return f"t1 waits for lock {state.threads[1].op[1]!r}, held by t0"
