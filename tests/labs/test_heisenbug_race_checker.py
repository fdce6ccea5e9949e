"""The heisenbug-race checker's logic: the scheduler, its explorer and invariants, the
incidents, the hidden plan, the scores, and threads.py as an isolated learner process.

The checker is tried the way it grades: its files are assembled by the lab format
(grader/ plus the starter files `[grader] include` names) into a folder of their own and
imported from there. Threads run in-process here through threads.py's own `answer`
with a JSON round trip, exactly what the process would say; one test proves the
isolated process says the same. Nothing here measures time.
"""

import importlib.util
import json
import random
import types
from itertools import pairwise
from pathlib import Path

import pytest

from tests.labs.checker_modules import load_checker, private_uses

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "heisenbug-race"
# check first: it puts its starter/ folder (scheduler.py, scenarios.py) on the path.
GRADER_MODULES = (
    "check",
    "downstack_harness",
    "scheduler",
    "scenarios",
    "threads",
    "hidden",
    "scoring",
    "host_process",
)
CORRECT = ("solution", "correct-cas-versions", "correct-double-checked")


@pytest.fixture(scope="module")
def grader():
    folder, modules = load_checker("heisenbug-race", GRADER_MODULES)
    return types.SimpleNamespace(folder=folder, **modules)


def load_cache(path: Path):
    spec = importlib.util.spec_from_file_location(f"heisenbug_cache_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cache_file(name: str) -> Path:
    if name in ("starter", "solution"):
        return LAB / name / "cache.py"
    return LAB / "variants" / name / "cache.py"


def in_process(grader, module, counter=None):
    """scheduler.Threads over threads.py's answer, as the process would give it."""

    def ask(question):
        if counter is not None:
            counter.append(question)
        wire = json.loads(json.dumps(question))
        return json.loads(json.dumps(grader.threads.answer(module, wire)))

    return grader.scheduler.Threads(ask)


@pytest.fixture(scope="module")
def threads_of(grader):
    """Threads for a named implementation, one per name (their answers are remembered)."""
    made = {}

    def threads(name):
        if name not in made:
            made[name] = in_process(grader, load_cache(cache_file(name)))
        return made[name]

    return threads


def code(**calls):
    """A cache module made of generator functions, for scenarios of a few steps."""
    return types.SimpleNamespace(**calls)


def scenario(grader, threads, prices=(("kettle", 349),), cached=()):
    return grader.scheduler.Scenario("test", prices, cached, threads)


def machine(grader, module, *args, **kwargs):
    return grader.scheduler.Machine(scenario(grader, *args, **kwargs), in_process(grader, module))


def starter_like(grader):
    return load_cache(cache_file("starter"))


# -- the scheduler: steps, preemptions, schedules ----------------------------------------


def test_a_schedule_replays_the_same_run(grader, threads_of):
    incident = grader.scenarios.incident(11)
    first = grader.scheduler.Machine(incident, threads_of("starter"))
    found = grader.scheduler.explore(first, 1)
    runs = [
        grader.scheduler.follow(
            grader.scheduler.Machine(incident, threads_of("starter")), found.first_failure
        )
        for _ in range(2)
    ]
    assert runs[0].events == runs[1].events
    assert runs[0].violation == runs[1].violation is not None


def test_switching_away_from_a_thread_that_could_go_on_is_a_preemption(grader):
    m = machine(grader, starter_like(grader), ((("get", "kettle"),), (("get", "kettle"),)))
    run = grader.scheduler.follow(m, [0, 1, 1, 1, 0, 0])
    assert run.preemptions == 1  # 0 -> 1 while t0 could go on; 1 -> 0 after t1 finished: free
    run = grader.scheduler.follow(m, [0, 0, 0, 1, 1, 1])
    assert run.preemptions == 0


def test_switching_away_from_a_waiting_or_paused_thread_is_free(grader):
    def locked(key):
        yield ("cache.get", key)
        yield ("lock.acquire", "l")
        yield ("cache.get", key)
        yield ("lock.release", "l")

    def pausing(key):
        yield ("pause",)
        yield ("cache.get", key)

    m = machine(grader, code(get=locked), ((("get", "kettle"),), (("get", "kettle"),)))
    run = grader.scheduler.follow(m, [0, 0, 1, 0, 0, 1, 1, 1])
    # 0 -> 1 is a preemption; then t1 waits for t0's lock, so 1 -> 0 is free.
    assert (run.problem, run.preemptions) == ("", 1)
    m = machine(grader, code(get=pausing), ((("get", "kettle"),), (("get", "kettle"),)))
    run = grader.scheduler.follow(m, [0, 1, 0, 1])
    assert (run.problem, run.preemptions) == ("", 0)


def test_a_paused_thread_lets_the_others_run_first(grader):
    def pausing(key):
        yield ("pause",)
        yield ("cache.get", key)

    m = machine(grader, code(get=pausing), ((("get", "kettle"),), (("get", "kettle"),)))
    run = grader.scheduler.follow(m, [0, 0])
    assert "t0 has just paused, so another thread runs first" in run.problem


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ([0, 0, 0, 0], "step 4 names t0, but t0 has finished"),
        ([2], "step 1 names t2, but there is no t2: this run's threads are t0 to t1"),
        ([0, 0], "the schedule ends after 2 steps, but t0, t1 had not finished"),
        ([0, 0, 0, 1, 1], "the run ended after 4 steps with every invariant intact"),
    ],
)
def test_a_schedule_that_cannot_be_followed_says_why(grader, schedule, problem):
    m = machine(grader, starter_like(grader), ((("get", "kettle"),), (("get", "kettle"),)))
    assert problem in grader.scheduler.follow(m, schedule).problem


def test_steps_after_the_invariant_broke_are_not_run(grader):
    m = machine(grader, starter_like(grader), ((("get", "kettle"),), (("update", "kettle", 420),)))
    run = grader.scheduler.follow(m, [0, 0, 1, 1, 0, 1, 1, 1])
    assert run.problem == ""
    assert "stale cache" in run.violation.message
    assert run.schedule == [0, 0, 1, 1, 0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[0, 1, 1]", [0, 1, 1]),
        ('["t0", "t1", "t1"]', [0, 1, 1]),
        ('[0, "t1"]\n', [0, 1]),
        ("[]", []),
    ],
)
def test_a_schedule_names_threads_by_number_or_by_name(grader, text, expected):
    assert grader.scheduler.parse_schedule(text) == (expected, "")


@pytest.mark.parametrize(
    "text",
    ["", "{}", "[[0, 1], [1, 0]]", '["t1 or t2"]', "[true]", "[-1]", "[1.0]", '["T1"]', "0"],
)
def test_anything_but_one_thread_per_step_is_no_schedule(grader, text):
    schedule, problem = grader.scheduler.parse_schedule(text)
    assert schedule is None
    assert problem


# -- the invariants ----------------------------------------------------------------------


def violation(grader, module, threads, schedule, **kwargs):
    run = grader.scheduler.follow(machine(grader, module, threads, **kwargs), schedule)
    assert run.problem == ""
    return run.violation


def test_an_old_price_left_in_the_cache_is_a_stale_cache(grader):
    found = violation(
        grader,
        starter_like(grader),
        ((("get", "kettle"),), (("update", "kettle", 420),)),
        [0, 0, 1, 1, 0],
    )
    assert "the cache holds kettle = 349 while the database holds 420" in found.message


def test_a_get_older_than_a_returned_update_is_a_stale_read(grader):
    def keep(key):
        price = yield ("cache.get", key)
        return price

    def write_only(key, price):
        yield ("db.write", key, price)

    found = violation(
        grader,
        code(get=keep, update=write_only),
        ((("update", "kettle", 420),), (("get", "kettle"),)),
        [0, 1],
        cached=("kettle",),
    )
    assert "returned 349, but t0's update('kettle', 420) had returned before this get's" in (
        found.message
    )


def test_a_get_that_overlaps_an_update_may_return_either_price(grader):
    def write_then_delete(key, price):
        yield ("db.write", key, price)
        yield ("cache.delete", key)

    module = code(get=starter_like(grader).get, update=write_then_delete)
    threads = ((("update", "kettle", 420),), (("get", "kettle"),))
    run = grader.scheduler.follow(machine(grader, module, threads, cached=("kettle",)), [0, 1, 0])
    assert (run.problem, run.violation) == ("", None)


def test_an_update_that_returns_before_writing_breaks_durability(grader):
    def lazy(key, price):
        yield ("cache.delete", key)

    found = violation(grader, code(update=lazy), ((("update", "kettle", 420),),), [0])
    assert "update('kettle', 420) returned before the database had 420" in found.message


def test_only_an_update_writes_the_database_and_only_its_price(grader):
    def writes(key):
        yield ("db.write", key, 1)
        return 1

    def other_price(key, price):
        yield ("db.write", key, price + 1)

    found = violation(grader, code(get=writes), ((("get", "kettle"),),), [0])
    assert "only update(key, price) may write it" in found.message
    found = violation(grader, code(update=other_price), ((("update", "kettle", 420),),), [0])
    assert "wrote kettle = 421" in found.message


def test_the_cache_holds_only_prices_the_database_had(grader):
    def invent(key):
        yield ("cache.set", key, 999)
        return 349

    found = violation(grader, code(get=invent), ((("get", "kettle"),),), [0])
    assert "a price the database never had" in found.message


def test_a_get_must_return_a_price_the_database_had(grader):
    def guess(key):
        return 500
        yield

    run = grader.scheduler.follow(machine(grader, code(get=guess), ((("get", "kettle"),),)), [])
    assert "returned 500, a price the database never had" in run.violation.message


def test_lock_misuse_is_caught(grader):
    def twice(key):
        yield ("lock.acquire", "l")
        yield ("lock.acquire", "l")

    def foreign(key):
        yield ("lock.release", "l")

    def keeps(key):
        yield ("lock.acquire", "l")
        return 349

    for body, text in (
        (twice, "acquired lock 'l' while already holding it"),
        (foreign, "released lock 'l', which no thread holds"),
        (keeps, "finished while holding lock 'l'"),
    ):
        m = machine(grader, code(get=body), ((("get", "kettle"),),))
        state = grader.scheduler.run_alone(m, m.start(), 0)
        assert text in state.violation.message


def test_opposite_lock_orders_deadlock(grader, threads_of):
    incident = scenario(grader, ((("get", "kettle"),), (("update", "kettle", 420),)))
    m = grader.scheduler.Machine(incident, threads_of("locks-in-opposite-orders"))
    found = grader.scheduler.explore(m, 1)
    run = grader.scheduler.follow(m, found.first_failure)
    assert run.violation.message.startswith("deadlock: t0 waits for lock 'database', held by t1")


def test_a_call_that_spins_forever_is_stopped(grader):
    def spin(key):
        while True:
            yield ("cache.get", key)

    m = machine(grader, code(get=spin), ((("get", "kettle"),),))
    state = grader.scheduler.run_alone(m, m.start(), 0)
    assert f"took more than {grader.scheduler.MAX_CALL_STEPS} steps" in state.violation.message


@pytest.mark.parametrize(
    ("op", "fine"),
    [
        (["cache.cas", "kettle", 349, 0], True),
        (["cache.cas", "kettle", 349, True], False),
        (["cache.set", "kettle", "349"], False),
        (["db.read"], False),
        (["db.drop", "kettle"], False),
        ("pause", False),
        (["lock.acquire", "l" * 101], False),
        ([["cache.get"], "kettle"], False),
    ],
)
def test_an_operation_is_read_strictly(grader, op, fine):
    answer = grader.scheduler.read_answer({"returned": [], "op": op})
    assert (answer.error == "") == fine


@pytest.mark.parametrize("returned", [["349"], [[349]], [{"price": 349}], [True], [349.0]])
def test_a_call_returns_a_price_or_nothing(grader, returned):
    answer = grader.scheduler.read_answer({"returned": returned, "op": None})
    assert "a call returns a price or None" in answer.error


def test_an_answer_nested_too_deeply_is_an_error_not_a_crash(grader):
    deep = json.loads("[" * 900 + "]" * 900)
    answer = grader.scheduler.read_answer({"returned": [], "op": deep})
    assert answer.error


def test_cache_py_raising_is_an_error_of_that_thread(grader):
    def broken(key):
        yield ("cache.get", key)
        raise KeyError(key)

    m = machine(grader, code(get=broken), ((("get", "kettle"),),))
    state = grader.scheduler.run_alone(m, m.start(), 0)
    assert "t0: get('kettle') failed: KeyError: 'kettle'" in state.violation.message


# -- threads.py --------------------------------------------------------------------------


def test_threads_py_reports_only_the_returns_after_the_last_result(grader):
    starter = starter_like(grader)
    calls = [["get", "kettle"], ["update", "kettle", 420]]
    assert grader.threads.next_step(starter, calls, []) == ([], ("cache.get", "kettle"))
    assert grader.threads.next_step(starter, calls, [349]) == ([349], ("db.write", "kettle", 420))
    assert grader.threads.next_step(starter, calls, [349, None]) == (
        [],
        ("cache.set", "kettle", 420),
    )
    assert grader.threads.next_step(starter, calls, [349, None, None]) == ([None], None)


def test_threads_py_answers_a_value_that_is_not_json_with_an_error(grader):
    def odd(key):
        yield ("cache.get", {1, 2})

    answer = grader.threads.answer(code(get=odd), {"calls": [["get", "k"]], "results": []})
    assert "not JSON" in answer["error"]


def test_each_question_is_asked_once(grader):
    asked = []
    threads = in_process(grader, load_cache(cache_file("solution")), asked)
    incident = grader.scenarios.incident(5)
    for _ in range(2):
        grader.scheduler.explore(grader.scheduler.Machine(incident, threads), 2)
    keys = [(json.dumps(q["calls"]), json.dumps(q["results"])) for q in asked]
    assert len(keys) == len(set(keys)) == threads.questions


# -- the explorer --------------------------------------------------------------------------


def every_schedule(m, state, bound):
    """(schedules, failing) by plain enumeration, without the explorer's shared states."""
    if state.terminal:
        return 1, int(state.violation is not None)
    total = failing = 0
    for index in m.enabled(state):
        cost = 1 if m.preempts(state, index) else 0
        if state.preemptions + cost > bound:
            continue
        after = m.step(state, index)
        after.last, after.preemptions = index, state.preemptions + cost
        more, worse = every_schedule(m, after, bound)
        total, failing = total + more, failing + worse
    return total, failing


@pytest.mark.parametrize("seed", [3, 8, 21])
@pytest.mark.parametrize("name", ["starter", "solution", "version-check-then-set"])
def test_the_explorer_counts_every_schedule_once(grader, threads_of, seed, name):
    m = grader.scheduler.Machine(grader.scenarios.incident(seed), threads_of(name))
    for bound in (0, 1, 2):
        found = grader.scheduler.explore(m, bound)
        assert (found.schedules, found.failing) == every_schedule(m, m.start(), bound)


def test_the_search_stops_at_its_state_limit(grader, threads_of):
    m = grader.scheduler.Machine(grader.scenarios.incident(3), threads_of("solution"))
    found = grader.scheduler.explore(m, 2, limit=10)
    assert not found.complete
    assert found.states < 20 < grader.scheduler.explore(m, 2).states


def test_random_runs_repeat_for_a_seed(grader, threads_of):
    m = grader.scheduler.Machine(grader.scenarios.incident(9), threads_of("starter"))
    first = [grader.scheduler.random_run(m, random.Random(4), 0.3).schedule for _ in range(5)]
    again = [grader.scheduler.random_run(m, random.Random(4), 0.3).schedule for _ in range(5)]
    assert first == again


# -- the incidents -----------------------------------------------------------------------


SEEDS = range(40)


def test_an_incident_is_the_same_for_a_seed_and_another_for_another_seed(grader):
    incident = grader.scenarios.incident
    assert incident(77) == incident(77)
    assert len({incident(seed).threads for seed in SEEDS}) == len(SEEDS)


@pytest.mark.parametrize("shape", ["fill", "refresh", "write-through", "crowd"])
def test_every_incident_races_and_needs_exactly_one_preemption(grader, threads_of, shape):
    for seed in range(12):
        incident = grader.scenarios.incident(seed, shape)
        prices = [price for _, price in incident.prices] + [
            call[2] for calls in incident.threads for call in calls if call[0] == "update"
        ]
        assert len(prices) == len(set(prices))
        assert all(
            1 <= len(calls) <= grader.scenarios.MAX_CALLS_PER_THREAD for calls in incident.threads
        )
        m = grader.scheduler.Machine(incident, threads_of("starter"))
        assert grader.scheduler.fewest_preemptions(m, 2)[0] == 1


@pytest.mark.parametrize("name", CORRECT)
def test_the_correct_caches_pass_every_schedule_of_many_incidents(grader, threads_of, name):
    for seed in range(10):
        for shape in grader.scenarios.SHAPES:
            incident = grader.scenarios.incident(seed, shape)
            m = grader.scheduler.Machine(incident, threads_of(name))
            found = grader.scheduler.explore(m, grader.scenarios.BOUND)
            assert found.complete and found.first_failure is None, (seed, shape)


def test_one_learners_minimal_schedule_rarely_breaks_another_learners_incident(grader, threads_of):
    threads = threads_of("starter")
    incidents = [grader.scenarios.incident(seed) for seed in SEEDS]
    schedules = [
        grader.scheduler.fewest_preemptions(grader.scheduler.Machine(i, threads), 2)[1]
        for i in incidents
    ]
    shared = sum(
        1
        for a, schedule in enumerate(schedules)
        for b, other in enumerate(incidents)
        if a != b
        and grader.scheduler.follow(grader.scheduler.Machine(other, threads), schedule).violation
        and not grader.scheduler.follow(grader.scheduler.Machine(other, threads), schedule).problem
    )
    assert shared <= 0.02 * len(SEEDS) * (len(SEEDS) - 1)


def test_the_flaky_test_mostly_passes_on_the_starter(grader, threads_of):
    """The story: a time-sliced random scheduler rarely lands in the one-step window."""
    failures = 0
    for seed in range(10):
        m = grader.scheduler.Machine(grader.scenarios.incident(seed), threads_of("starter"))
        rng = random.Random(seed)
        failures += sum(
            bool(grader.scheduler.random_run(m, rng, 0.001).violation) for _ in range(300)
        )
    assert failures <= 10  # of 3,000 runs


def test_the_handed_in_schedule_is_minimal_for_the_check_seed(grader, threads_of):
    schedule, _ = grader.scheduler.parse_schedule((LAB / "solution" / "schedule.json").read_text())
    m = grader.scheduler.Machine(
        grader.scenarios.incident(grader.check.DEFAULT_SEED), threads_of("starter")
    )
    run = grader.scheduler.follow(m, schedule)
    assert run.violation is not None and run.problem == ""
    assert run.preemptions == grader.scheduler.fewest_preemptions(m, 2)[0]


# -- the cache contract and independent products -------------------------------------------


def broken_rules(grader, threads):
    return {rule: broken for rule, (_, broken) in grader.scenarios.contract(threads).items()}


@pytest.mark.parametrize("name", ["starter", *CORRECT, "global-lock"])
def test_caches_that_cache_keep_the_contract_on_every_product(grader, threads_of, name):
    kept = grader.scenarios.contract(threads_of(name))
    assert list(kept) == list(grader.scenarios.RULES)
    assert all(tried == len(grader.scenarios.PRODUCTS) for tried, _ in kept.values())
    assert not any(broken_rules(grader, threads_of(name)).values())


def test_a_cache_that_never_caches_breaks_the_contract(grader, threads_of):
    broken = broken_rules(grader, threads_of("never-cache"))
    assert all(len(b) == 12 for b in broken.values())
    first = broken[grader.scenarios.RULES[0]][0]
    assert first == "get('kettle'): the last get('kettle') read the database"


def test_a_cache_that_caches_only_some_products_breaks_the_contract_on_the_others(grader):
    reference = load_cache(cache_file("solution"))
    never = load_cache(cache_file("never-cache"))

    def pick(name):
        def call(key, *args):
            chosen = reference if key in ("kettle", "mug") else never
            return getattr(chosen, name)(key, *args)

        return call

    module = code(get=pick("get"), update=pick("update"), refresh=pick("refresh"))
    broken = broken_rules(grader, in_process(grader, module))
    assert all(len(b) == 10 for b in broken.values())


@pytest.mark.parametrize(("name", "tried"), [("solution", 576), ("correct-cas-versions", 240)])
def test_calls_on_other_products_finish_alone_with_a_lock_per_product(
    grader, threads_of, name, tried
):
    assert grader.scenarios.independence(threads_of(name)) == (tried, [])


def test_with_one_lock_every_stop_makes_the_other_product_wait(grader, threads_of):
    tried, waits = grader.scenarios.independence(threads_of("global-lock"))
    assert tried == len(waits) == 576
    assert waits[0].why == "t1 waits for lock 'prices', held by t0"


def test_every_ordered_pair_of_products_is_tried(grader):
    pairs = {(s.threads[0][0][1], s.threads[1][0][1]) for s in grader.scenarios.pairs()}
    products = grader.scenarios.PRODUCTS
    assert pairs == {(a, b) for a in products for b in products if a != b}


def test_a_lock_per_product_only_where_the_checks_once_looked_still_waits(grader):
    """A cache that keeps one lock for every product but two does not pass."""
    per_product = load_cache(cache_file("solution"))
    one_lock = load_cache(cache_file("global-lock"))

    def pick(name):
        def call(key, *args):
            chosen = per_product if key in ("kettle", "mug") else one_lock
            return getattr(chosen, name)(key, *args)

        return call

    module = code(get=pick("get"), update=pick("update"), refresh=pick("refresh"))
    tried, waits = grader.scenarios.independence(in_process(grader, module))
    assert len(waits) > tried / 2


def test_with_one_lock_but_free_hits_only_hits_go_on(grader, threads_of):
    tried, waits = grader.scenarios.independence(threads_of("global-lock-except-hits"))
    assert 0 < len(waits) < tried
    assert not any("t1 get (cached)" in w.scenario.title for w in waits)


# -- the hidden incidents ----------------------------------------------------------------


def test_hidden_incidents_are_fixed_for_a_seed_and_cover_every_shape(grader):
    hidden = grader.hidden
    assert hidden.hidden_incidents(4242) == hidden.hidden_incidents(4242)
    assert hidden.hidden_incidents(4242) != hidden.hidden_incidents(4243)
    assert sorted(hidden.HIDDEN_SHAPES) == sorted(grader.scenarios.SHAPES * 3)
    titles = [s.title for s in hidden.hidden_incidents(4242)]
    assert titles == [f"hidden incident {n}" for n in range(1, 13)]


def test_hidden_incidents_cannot_be_drawn_without_the_salt(grader, monkeypatch):
    hidden = grader.hidden
    mine = hidden.hidden_incidents(4242)
    derivable = {
        grader.scenarios.incident(4242 + k, shape).threads
        for k in range(-50, 50)
        for shape in grader.scenarios.SHAPES
    }
    assert not derivable & {s.threads for s in mine}
    monkeypatch.setattr(hidden, "HIDDEN_SALT", "another salt")
    assert {s.threads for s in hidden.hidden_incidents(4242)}.isdisjoint(s.threads for s in mine)


# -- scores ------------------------------------------------------------------------------


def test_a_minimal_schedule_earns_full_marks_and_each_extra_preemption_a_little_less(grader):
    credit = grader.scoring.schedule_credit
    scores = [credit(preemptions, 1) for preemptions in range(1, 10)]
    assert scores[:5] == [2.0, 1.7, 1.4, 1.1, 1.0]
    assert scores[-1] == 1.0
    for more, fewer in pairwise(scores):
        assert 0 <= more - fewer <= 0.3 + 1e-9


def follow_starter(grader, threads_of, schedule):
    m = grader.scheduler.Machine(grader.scenarios.incident(4242), threads_of("starter"))
    return grader.scheduler.follow(m, schedule)


def test_part_a_pays_for_a_failing_schedule_by_its_preemptions(grader, threads_of):
    grade = grader.scoring.grade_schedule
    exact = grade("A", "", follow_starter(grader, threads_of, [1, 1, 0, 0, 0, 0, 1, 2]), 1, "r")
    assert (exact.passed, exact.score) == (True, 2.0)
    assert exact.tags == ("seed-answer",)
    longer = grade("A", "", follow_starter(grader, threads_of, [1, 1, 0, 2, 0, 1, 0, 0]), 1, "r")
    assert (longer.passed, longer.score) == (False, 1.4)
    assert "The fewest preemptions a failing schedule of your incident has is 1" in longer.output


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        ([0, 0, 1, 1, 1, 0, 0, 0], "cannot be followed: step 4 names t1, but t1 has finished"),
        ([0, 0, 0, 0, 1, 2], "with every invariant intact: it does not reproduce the bug"),
        ([1, 1, 0, 0, 0, 0, 1], "the schedule ends after 7 steps, but t2 had not finished"),
    ],
)
def test_part_a_pays_nothing_for_a_schedule_that_does_not_fail(grader, threads_of, schedule, text):
    result = grader.scoring.grade_schedule(
        "A", "", follow_starter(grader, threads_of, schedule), 1, "r"
    )
    assert (result.passed, result.score) == (False, 0.0)
    assert text in result.output


def outcome(grader, safe=True, title="i"):
    return grader.scoring.Outcome(title, 10, "" if safe else "it failed")


def kept(grader, broken=()):
    rules = grader.scenarios.RULES
    return {rule: (12, ["it broke"] if n in broken else []) for n, rule in enumerate(rules)}


def scores(results):
    return [r.score for r in results]


def test_part_b_full_marks_need_every_incident_the_contract_and_free_products(grader):
    results = grader.scoring.part_b(outcome(grader), [outcome(grader)] * 12, kept(grader), 576, [])
    assert scores(results) == [1.0, 3.0, 1.0, 3.0]
    assert all(r.passed for r in results)
    assert [r.visibility for r in results] == ["visible", "hidden", "visible", "visible"]


def test_hidden_safety_rises_with_every_hidden_incident_that_passes(grader):
    part_b = grader.scoring.part_b
    for passing in range(13):
        hidden = [outcome(grader, n < passing) for n in range(12)]
        results = part_b(outcome(grader), hidden, kept(grader), 48, [])
        assert results[1].score == round(3 * passing / 12, 2)
        assert results[3].score == (3.0 if passing == 12 else 0.0)  # counts once all are safe


def test_a_cache_that_does_not_cache_earns_no_safety(grader):
    results = grader.scoring.part_b(
        outcome(grader), [outcome(grader)] * 12, kept(grader, {2}), 48, []
    )
    assert scores(results) == [0.0, 0.0, 0.0, 0.0]
    assert "a cache that does not cache cannot serve a stale price" in results[0].output
    missing = grader.scoring.part_b(
        outcome(grader), [outcome(grader)] * 12, {}, 0, [], "no cache.py"
    )
    assert scores(missing) == [0.0, 0.0, 0.0, 0.0]


def test_products_that_wait_cost_their_share(grader, threads_of):
    tried, waits = grader.scenarios.independence(threads_of("global-lock-except-hits"))
    results = grader.scoring.part_b(
        outcome(grader), [outcome(grader)] * 12, kept(grader), tried, waits
    )
    assert results[3].score == round(3 * (tried - len(waits)) / tried, 2)
    assert not results[3].passed
    assert "t1 waits for lock 'prices', held by t0" in results[3].output


# -- the checker's own pieces --------------------------------------------------------------


def test_a_missing_or_unreadable_schedule_is_explained(grader):
    assert "is missing" in grader.check.read_schedule(None)[1]
    assert grader.check.read_schedule(b"\xff")[1] == "is not UTF-8 text"


def test_the_search_names_the_first_failing_schedule(grader, threads_of):
    found = grader.check.search(threads_of("starter"), grader.scenarios.incident(4242), "")
    assert found.failure.startswith("4 of 34 schedules fail") or "schedules fail" in found.failure
    assert "stale cache" in found.failure
    assert grader.check.search(threads_of("solution"), grader.scenarios.incident(4242), "").safe


def isolated_threads(grader, tmp_path, source: str):
    folder = grader.check.learner_folder(source.encode())
    g = grader.downstack_harness.Grader(environ={"DOWNSTACK_SUBMISSION": str(tmp_path)})
    return grader.host_process.ThreadsHost(g, folder)


def test_an_isolated_threads_process_answers_like_threads_py_in_process(
    grader, threads_of, tmp_path
):
    host = isolated_threads(grader, tmp_path, cache_file("solution").read_text())
    try:
        threads = grader.scheduler.Threads(host.ask)
        incident = grader.scenarios.incident(6)
        piped = grader.scheduler.explore(grader.scheduler.Machine(incident, threads), 2)
    finally:
        host.close()
    local = grader.scheduler.explore(grader.scheduler.Machine(incident, threads_of("solution")), 2)
    assert (piped.schedules, piped.states, piped.failing) == (local.schedules, local.states, 0)


def test_a_threads_process_that_hangs_is_not_asked_again(grader, tmp_path, monkeypatch):
    monkeypatch.setattr(grader.host_process, "ANSWER_WITHIN_S", 1.0)
    host = isolated_threads(grader, tmp_path, "import time\ntime.sleep(60)\n")
    try:
        question = {"calls": [["get", "kettle"]], "results": []}
        with pytest.raises(grader.scheduler.HostError, match="did not answer within 1 s"):
            host.ask(question)
        with pytest.raises(grader.scheduler.HostError, match="did not answer within 1 s"):
            host.ask(question)
        assert host.starts == 1
    finally:
        host.close()


def test_a_threads_process_that_exits_is_started_again_a_few_times(grader, tmp_path):
    host = isolated_threads(grader, tmp_path, "import os\nos._exit(3)\n")
    try:
        for _ in range(grader.host_process.MAX_STARTS):
            with pytest.raises(grader.scheduler.HostError, match="exited"):
                host.ask({"calls": [["get", "kettle"]], "results": []})
        with pytest.raises(grader.scheduler.HostError, match="not started again"):
            host.ask({"calls": [["get", "kettle"]], "results": []})
    finally:
        host.close()


def test_the_checker_uses_only_public_names_of_other_modules():
    """No file of the lab imports or reaches into a `_` name of another module."""
    assert private_uses(LAB) == []


def test_an_empty_schedule_is_no_answer(grader):
    assert grader.check.read_schedule(b"[]") == (
        None,
        "is an empty list: hand in a failing schedule of your incident",
    )


def test_a_threads_process_is_not_asked_past_its_deadline(grader, tmp_path):
    host = isolated_threads(grader, tmp_path, cache_file("solution").read_text())
    host.deadline = 0.0
    try:
        with pytest.raises(grader.scheduler.HostError, match="ran out"):
            host.ask({"calls": [["get", "kettle"]], "results": []})
        assert host.starts == 0
    finally:
        host.close()
