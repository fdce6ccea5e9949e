"""The gc-p99-spike checker's logic, without Docker: pricing, traffic, verdicts, the runner
and the service session on the harness's LearnerProcess.

The grader modules are loaded from the lab's grader folder under their own names and
taken out of sys.modules again, so that other labs' modules of the same name cannot mix
with them.
"""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.labs.checker_modules import load_checker

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "gc-p99-spike"
GRADER = LAB / "grader"
HARNESS = ROOT / "graders" / "harness"
GRADER_MODULES = ("pricing", "traffic", "verdicts", "session", "check", "downstack_harness")


CHECKER_DIR, _modules = load_checker("gc-p99-spike", GRADER_MODULES)
pricing, traffic, verdicts = _modules["pricing"], _modules["traffic"], _modules["verdicts"]
session, check, harness = _modules["session"], _modules["check"], _modules["downstack_harness"]


@pytest.fixture(scope="module")
def starter_service():
    """The starter's service.py with its catalog loaded (about half a second)."""
    spec = importlib.util.spec_from_file_location("gc_p99_starter", LAB / "starter" / "service.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.COLLECT_EVERY = 10**9  # the forced collections only cost time here
    module.start()
    return module


# -- pricing and traffic ---------------------------------------------------------------


def test_expected_prices_match_the_starter_on_checkout_and_unusual_orders(starter_service):
    orders = traffic.checkout_orders(5, 300) + traffic.unusual_orders(6)
    for order in orders:
        assert json.loads(starter_service.handle(json.dumps(order))) == pricing.price(order)


def test_unusual_orders_cover_unknown_skus_empty_and_huge_carts():
    orders = traffic.unusual_orders(3303)
    assert any("error" in pricing.price(order) for order in orders)
    assert any(not order["items"] for order in orders)
    assert any(len(order["items"]) >= 120 for order in orders)
    assert any(order.get("coupon") not in (None, *pricing.COUPONS) for order in orders)


def test_order_streams_repeat_for_a_seed_and_differ_between_seeds():
    assert traffic.checkout_orders(7, 50) == traffic.checkout_orders(7, 50)
    assert traffic.checkout_orders(7, 50) != traffic.checkout_orders(8, 50)
    assert traffic.unusual_orders(9) == traffic.unusual_orders(9)


def test_repeat_customers_with_other_carts_appear_in_the_measured_orders():
    # A cache keyed by customer must meet a customer twice with different carts.
    seen = {}
    orders = check.MEASURED_ORDERS
    clashes = 0
    for order in orders:
        key = (order["customer"], order.get("coupon"))
        clashes += key in seen and seen[key] != order["items"]
        seen[key] = order["items"]
    assert clashes > 100


def test_unknown_skus_are_recognised():
    assert pricing.product("SKU-199999") is not None
    assert pricing.product("SKU-200000") is None
    assert pricing.product("SKU-12") is None
    assert pricing.product("sku-000001") is None


def test_the_checker_receives_the_starter_where_it_looks_for_its_baseline():
    assert check.STARTER == CHECKER_DIR / "starter"
    assert (check.STARTER / "service.py").read_bytes() == (
        LAB / "starter" / "service.py"
    ).read_bytes()


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert verdicts.percentile(values, 99) == 99
    assert verdicts.percentile(values, 50) == 50
    assert verdicts.percentile([5, 1, 3], 99) == 5
    assert verdicts.percentile([7], 50) == 7


def _stats(full, collected, *, intact=True, stats_full=None, stats_collected=None):
    stats_full = full if stats_full is None else stats_full
    stats_collected = collected if stats_collected is None else stats_collected
    return {
        "hook": {
            "intact": intact,
            "collections": [100, 10, full],
            "collected": collected,
        },
        "get_stats": [
            {"collections": 100, "collected": stats_collected, "uncollectable": 0},
            {"collections": 10, "collected": 0, "uncollectable": 0},
            {"collections": stats_full, "collected": 0, "uncollectable": 0},
        ],
        "enabled": True,
    }


def test_gc_window_counts_what_happened_between_two_snapshots():
    window = verdicts.gc_window(_stats(3, 1_000), _stats(33, 38_000))
    assert window.consistent
    assert window.full_collections == 30
    assert window.collected == 37_000


def test_gc_window_is_not_believed_when_the_sources_disagree():
    silenced_hook = verdicts.gc_window(_stats(3, 1_000), _stats(3, 1_000, stats_full=33))
    assert not silenced_hook.consistent
    assert silenced_hook.full_collections == 30  # the larger count wins
    removed_hook = verdicts.gc_window(_stats(3, 0), _stats(3, 0, intact=False))
    assert not removed_hook.consistent
    # Counts that agree are not believed either once the hook was tampered with.
    rewritten = verdicts.gc_window(_stats(3, 0, intact=False), _stats(3, 0))
    assert not rewritten.consistent


def test_gc_window_rejects_counters_that_are_not_counts():
    forged = _stats(3, 0)
    forged["hook"]["collected"] = -5
    with pytest.raises(ValueError):
        verdicts.gc_window(_stats(3, 0), forged)
    forged["hook"]["collected"] = True
    with pytest.raises(ValueError):
        verdicts.gc_window(_stats(3, 0), forged)


def test_cyclic_garbage_includes_what_was_left_uncollected():
    window = verdicts.gc_window(_stats(0, 0), _stats(0, 0))
    # The collector switched off: nothing collected during the window, all of it left.
    assert verdicts.cyclic_garbage_per_request(window, 37_500, 1_500) == 25
    assert verdicts.cyclic_garbage_per_request(window, 0, 1_500) == 0


def test_memory_growth_needs_both_readings():
    run = verdicts.Run(rss_start_kib=80_000, rss_peak_kib=93_000)
    assert verdicts.memory_growth_kib(run) == 13_000
    assert verdicts.memory_growth_kib(verdicts.Run(rss_start_kib=80_000)) is None
    assert verdicts.probe_growth_kib(verdicts.Run()) is None


def test_p99_must_be_a_quarter_of_the_starters():
    assert verdicts.p99_fast_enough(400_000, 40_000_000)
    assert verdicts.p99_fast_enough(10_000_000, 40_000_000)
    assert not verdicts.p99_fast_enough(10_000_001, 40_000_000)


def test_diagnosis_skips_comments_and_the_placeholder():
    starter = verdicts.read_diagnosis((LAB / "starter" / "diagnosis.txt").read_text())
    assert starter.letter is None
    assert "replace the ?" in starter.problem
    solution = (LAB / "solution" / "diagnosis.txt").read_text()
    assert verdicts.read_diagnosis(solution).letter == "B"
    assert verdicts.read_diagnosis("# A is wrong\n\n  b  because...\n").letter == "B"
    assert verdicts.read_diagnosis("").letter is None
    assert verdicts.read_diagnosis("\ufeffC\r\n").letter == "C"


@pytest.mark.parametrize(
    "text",
    [
        "B",
        "b",
        "B)",
        "(B)",
        "B.",
        "Answer: B",
        "answer - b",
        "Answer B",
        "B - because every 50th order pays for a full collection",
        "B: a full collection walks the catalog",
        "B, since the slow requests are exactly every 50th",
    ],
)
def test_diagnosis_accepts_the_honest_forms_of_one_answer(text):
    assert verdicts.read_diagnosis(text + "\n") == verdicts.Diagnosis("B")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("B or C", "B and C"),
        ("b or c", "B and C"),
        ("B/C", "B and C"),
        ("B, C", "B and C"),
        ("Answer: B or D", "B and D"),
        ("C or a", "C and A"),
        ("B\nC", "B and C"),
        ("B - not A", "B and A"),
    ],
)
def test_diagnosis_naming_two_choices_is_no_answer(text, named):
    answer = verdicts.read_diagnosis(text)
    assert answer.letter is None
    assert f"more than one choice ({named})" in answer.problem


@pytest.mark.parametrize("text", ["BC", "Both B and C", "E", "the collector", "42", "?!"])
def test_an_unreadable_diagnosis_quotes_what_was_read_and_the_accepted_forms(text):
    answer = verdicts.read_diagnosis(text)
    assert answer.letter is None
    assert repr(text) in answer.problem
    assert 'after "Answer:"' in answer.problem


def test_catalog_is_held_when_start_adds_a_quarter_of_the_starters_memory():
    starter = verdicts.Run(rss_booted_kib=14_000, rss_ready_kib=88_000)  # 74,000 KiB
    compact = verdicts.Run(rss_booted_kib=14_000, rss_ready_kib=62_000)
    on_demand = verdicts.Run(rss_booted_kib=14_000, rss_ready_kib=15_500)
    assert verdicts.catalog_held(starter, starter)
    assert verdicts.catalog_held(compact, starter)
    assert not verdicts.catalog_held(on_demand, starter)
    assert verdicts.catalog_held(verdicts.Run(rss_booted_kib=0, rss_ready_kib=18_500), starter)
    assert not verdicts.catalog_held(verdicts.Run(rss_booted_kib=14_000), starter)


def test_count_fields_must_be_counts():
    assert verdicts.count_field({"n": 3}, "n") == 3
    assert verdicts.count_field({"n": -1}, "n") is None
    assert verdicts.count_field({"n": True}, "n") is None
    assert verdicts.count_field({}, "n") is None


# -- checks, from hand-made runs ---------------------------------------------------------


def _run(*, full=0, collected=0, p99_ns=200_000, probe_kib=0, wrong=0, catalog_kib=73_000, **more):
    latencies = [100_000] * 1_470 + [p99_ns] * 30  # p99 is the 1,485th value
    fields = dict(
        answered=2_700,
        wrong=wrong,
        first_wrong="order o-1: expected ..., got ..." if wrong else "",
        latencies_ns=latencies,
        rss_booted_kib=14_000,
        rss_ready_kib=14_000 + catalog_kib,
        rss_start_kib=80_000,
        rss_peak_kib=80_100,
        stats_before=_stats(0, 0),
        stats_after=_stats(full, collected),
        probe_orders=1_000,
        probe_rss_start_kib=80_100,
        probe_rss_peak_kib=80_100 + probe_kib,
        probe_collections=0,
        probe_collected=0,
        unusual_total=41,
    )
    return verdicts.Run(**(fields | more))


STARTER_RUN = _run(full=30, collected=37_000, p99_ns=40_000_000)


def _scores(checker, *args, **kwargs):
    g = harness.Grader(environ={})
    checker(g, *args, **kwargs)
    return {test["name"]: (test["score"], test["output"]) for test in g.results()["tests"]}


def _all_scores(run, starter=STARTER_RUN):
    """Every check but the diagnosis, as main() runs them."""
    g = harness.Grader(environ={})
    fixed = check.check_latency(g, run, starter)
    check.check_correctness(g, run, fixed=fixed)
    check.check_collector(g, run, fixed=fixed)
    check.check_memory(g, run, fixed=fixed)
    return {test["name"]: (test["score"], test["output"]) for test in g.results()["tests"]}


def _total(scores):
    return sum(score for score, _ in scores.values())


def test_a_fixed_service_passes_every_measured_check():
    scores = _all_scores(_run())
    assert all(score > 0 for score, _ in scores.values()), scores
    assert _total(scores) == 9


def test_the_unchanged_starter_earns_nothing_for_what_already_worked():
    scores = _all_scores(STARTER_RUN)
    assert _total(scores) == 0
    score, output = scores["orders are priced exactly as before (counts once the p99 is fixed)"]
    assert "counts once the p99 is fixed" in output


def test_quiet_counters_do_not_outweigh_pauses_the_checker_timed():
    scores = _all_scores(_run(p99_ns=40_000_000))
    score, output = scores["no full (generation 2) collections in steady state"]
    assert score == 0
    assert "not believed" in output


def test_a_service_without_the_catalog_gets_no_latency_points():
    scores = _all_scores(_run(catalog_kib=400))
    score, output = scores[
        "p99 latency, timed by the checker, against the starter's in the same run"
    ]
    assert score == 0
    assert "does not hold it" in output and "0.4 MiB" in output
    assert _total(scores) == 2  # the cyclic check alone: cycles are measured all the same


def test_memory_growth_with_the_collector_paused_fails_the_cyclic_check():
    scores = _scores(check.check_collector, _run(probe_kib=8_000), fixed=True)
    score, output = scores["no cyclic garbage per order"]
    assert score == 0
    assert "7.8 MiB" in output


def test_collections_the_service_runs_while_paused_cannot_hide_its_garbage():
    run = _run(probe_collections=16, probe_collected=20_000)
    score, output = _scores(check.check_collector, run, fixed=True)["no cyclic garbage per order"]
    assert score == 0
    assert "ran 16 collections itself, and they found 20000" in output
    # Collections that find nothing hide nothing.
    run = _run(probe_collections=16, probe_collected=0)
    assert _scores(check.check_collector, run, fixed=True)["no cyclic garbage per order"][0] == 2


def test_wrong_answers_leave_nothing_else_measured():
    run = _run(wrong=3)
    scores = _all_scores(run)
    for name, (score, output) in scores.items():
        assert score == 0
        if not name.startswith(("orders are priced", "unusual orders")):
            assert output.startswith("Not measured")


@pytest.mark.parametrize(
    ("text", "score"), [("# which one?\nB\n", 1), ("D\n", 0), ("Answer: B\n", 1), ("B or C\n", 0)]
)
def test_diagnosis_is_read_from_the_submission(tmp_path, text, score):
    (tmp_path / "diagnosis.txt").write_text(text)
    g = harness.Grader(environ={"DOWNSTACK_SUBMISSION": str(tmp_path)})
    check.check_diagnosis(g)
    assert g.results()["score"] == score


# -- the runner and the session, with tiny services -------------------------------------

ECHO_SERVICE = """
import json
print("start-up noise on stdout")

def start():
    print("more noise")

def handle(request):
    import os
    os.write(1, b"noise straight to fd 1\\n")
    body = json.loads(request)
    if body.get("boom"):
        raise KeyError("boom")
    return json.dumps({"order": body["order"]})
"""


@pytest.fixture()
def service_dir(tmp_path):
    (tmp_path / "service.py").write_text(ECHO_SERVICE)
    return tmp_path


def _runner(service_dir, commands, *, check=True):
    """Run the runner on ``commands`` (after !start) in ``service_dir``; its CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-I", "-c", (GRADER / "runner.py").read_text()],
        cwd=service_dir,
        input="!start\n" + commands,
        capture_output=True,
        text=True,
        timeout=30,
        check=check,
    )


def test_runner_keeps_the_protocol_clean_of_whatever_the_service_prints(service_dir):
    commands = '{"order": "o-1"}\n{"boom": 1}\n!stats\n!pause-collector\n!resume-collector\n'
    done = _runner(service_dir, commands)
    lines = done.stdout.splitlines()
    assert lines[:2] == ["BOOTED", "READY"]
    assert json.loads(lines[2]) == {"order": "o-1"}
    assert json.loads(lines[3])["runner_error"] == "KeyError: 'boom'"
    stats = json.loads(lines[4])
    assert stats["hook"]["intact"] is True
    assert len(stats["get_stats"]) == 3
    assert json.loads(lines[5]) == {"was_enabled": True}
    assert json.loads(lines[6]) == {
        "enabled": True,
        "collections_while_paused": 0,
        "collected_while_paused": 0,
    }
    assert "noise straight to fd 1" in done.stderr


def _stats_of(service_dir, source, commands="!stats\n"):
    (service_dir / "service.py").write_text(source)
    return [json.loads(line) for line in _runner(service_dir, commands).stdout.splitlines()[2:]]


PATCHING_SERVICE = """
import gc, json

_real_get_stats = gc.get_stats
gc.get_stats = lambda: [{"collections": 0, "collected": 0, "uncollectable": 0}] * 3
gc.collect = lambda generation=2: 0
gc.disable = lambda: None


def start():
    pass


def handle(request):
    class Cycle:
        pass

    node = Cycle()
    node.me = node
    _real_get_stats  # kept alive
    return json.dumps({"ok": True})
"""


def test_the_runner_uses_the_collectors_functions_taken_before_the_import(tmp_path):
    commands = "!pause-collector\n" + '{"o": 1}\n' * 5 + "!collect\n!resume-collector\n!stats\n"
    answers = _stats_of(tmp_path, PATCHING_SERVICE, commands)
    # gc.disable was patched to do nothing, yet the runner paused the collector; its
    # gc.collect found the five cycles that the patched one would have hidden.
    assert answers[6]["unreachable"] >= 5
    assert answers[7]["collections_while_paused"] == 1  # the runner's own !collect
    stats = answers[8]
    assert stats["get_stats"][2]["collections"] > 0


def test_a_callback_put_before_the_hook_marks_it_as_not_intact(tmp_path):
    source = (
        "import gc\n\ngc.callbacks.insert(0, lambda phase, info: info.update(collected=0))\n"
        "\ndef start():\n    pass\n\ndef handle(request):\n    return request\n"
    )
    assert _stats_of(tmp_path, source)[0]["hook"]["intact"] is False


def test_a_rewritten_hook_class_marks_it_as_not_intact(tmp_path):
    source = (
        "import gc\n\nfor hook in gc.callbacks:\n"
        "    type(hook).__call__ = lambda self, phase, info: None\n"
        "\ndef start():\n    pass\n\ndef handle(request):\n    return request\n"
    )
    assert _stats_of(tmp_path, source)[0]["hook"]["intact"] is False


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ("import ctypes", "used ctypes"),
        ("import _ctypes", "used ctypes"),
        ("import sys\nsys.settrace(lambda *a: None)", "installed a trace function"),
        ("import gc\ngc.get_objects()", "searched the heap with gc.get_objects()"),
        ("import gc\ngc.get_referrers(gc.callbacks)", "searched the heap with gc.get_referrers()"),
        ("def f():\n    pass\nf.__code__ = (lambda: None).__code__", "replaced a function's code"),
    ],
)
def test_the_runner_stops_a_service_that_reaches_for_its_instruments(tmp_path, code, what):
    (tmp_path / "service.py").write_text(f"{code}\n\ndef start():\n    pass\n")
    done = _runner(tmp_path, "", check=False)
    assert done.returncode == 70
    assert f"The checker stopped your service: it {what}" in done.stderr


def test_a_str_subclass_cannot_inject_protocol_lines(tmp_path):
    source = (
        "class Sneaky(str):\n    def replace(self, *args):\n        return 'a\\nb'\n"
        "\ndef start():\n    pass\n\ndef handle(request):\n    return Sneaky('x')\n"
    )
    (tmp_path / "service.py").write_text(source)
    lines = _runner(tmp_path, '{"o": 1}\n').stdout.splitlines()
    assert len(lines) == 3
    assert "handle() returned Sneaky, not str" in json.loads(lines[2])["runner_error"]


def test_session_times_answers_and_reads_memory_then_removes_everything(service_dir):
    with session.ServiceProcess(
        harness.Grader(environ={}), service_dir, memory_mb=400, cpu_s=10
    ) as service:
        booted_kib, ready_kib = service.wait_ready(20)
        assert 0 < booted_kib <= ready_kib
        answer, latency_ns = service.request('{"order": "o-9"}', 10)
        assert json.loads(answer) == {"order": "o-9"}
        assert latency_ns > 0
        assert service.rss_kib() > 0
        workdir = service.process.workdir
        assert (workdir / "service.py").is_file()  # a fresh copy, not the folder itself
    assert not workdir.exists()
    assert service.process.poll() is not None
    assert (service_dir / "service.py").is_file()


def test_the_runner_ignores_the_python_variables_of_the_harness_environment(tmp_path):
    # The harness sets PYTHONUNBUFFERED and PYTHONDONTWRITEBYTECODE; under -I the
    # measured interpreter runs as it would without them.
    (tmp_path / "service.py").write_text(
        "import json, os, sys\n\ndef start():\n    pass\n\n"
        "def handle(request):\n"
        "    return json.dumps([sys.flags.ignore_environment, sys.dont_write_bytecode,\n"
        "                       'PYTHONUNBUFFERED' in os.environ])\n"
    )
    with session.ServiceProcess(
        harness.Grader(environ={}), tmp_path, memory_mb=400, cpu_s=10
    ) as service:
        service.wait_ready(20)
        answer, _ = service.request("{}", 10)
    assert json.loads(answer) == [1, False, True]


def test_session_reports_a_service_that_cannot_start(tmp_path):
    (tmp_path / "service.py").write_text("def handle(request):\n    return request\n")
    with session.ServiceProcess(
        harness.Grader(environ={}), tmp_path, memory_mb=400, cpu_s=10
    ) as service:
        with pytest.raises(harness.LearnerProcessError, match="exited with code 1") as failed:
            service.wait_ready(20)
    assert "AttributeError" in str(failed.value)


def test_session_gives_up_on_a_service_that_hangs(tmp_path):
    (tmp_path / "service.py").write_text(
        "import time\n\ndef start():\n    pass\n\ndef handle(request):\n    time.sleep(60)\n"
    )
    with session.ServiceProcess(
        harness.Grader(environ={}), tmp_path, memory_mb=400, cpu_s=10
    ) as service:
        service.wait_ready(20)
        with pytest.raises(harness.LearnerProcessError, match="did not answer in time"):
            service.request('{"order": "o-1"}', 0.5)


def test_a_crashing_service_is_reported_to_the_learner_with_its_stderr(tmp_path):
    (tmp_path / "service.py").write_text(
        "def start():\n    raise SystemExit('catalog export missing')\n"
    )
    run = check.drive(harness.Grader(environ={}), tmp_path)
    assert not run.correct
    assert run.error.startswith("Your service exited with code 1")
    assert "catalog export missing" in run.error


def test_the_time_allowed_grows_with_the_starters_own_time_in_the_run():
    assert check._allowed_s(18.0, 0.0) == 18.0  # no starter run yet: the floor
    assert check._allowed_s(18.0, 4.0) == 18.0
    assert check._allowed_s(18.0, 10.0) == 10.0 * check.SLOWER_THAN_STARTER_ALLOWED
