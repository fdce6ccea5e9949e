"""The pure logic of flame-graph-regression's checker: part A's expected answers, their
parsing and credit, the profiles and flame graphs, part B's orders, budgets and credit.

The checker's modules are imported from its folder as the sandbox gives it
(tests/labs/checker_modules.py), with starter/flames.py and starter/bench.py beside
them. The services are loaded in this process only to prove facts about the lab's own
code (the starter is over budget, the alternatives agree with the reference); nothing
here starts a process, so these tests need no Docker.
"""

import json
import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from tests.labs.checker_modules import ROOT, load_checker

LAB = ROOT / "labs" / "flame-graph-regression"
CHECK_SEED = 4242

# check.py puts starter/ (flames.py, bench.py, as the learner has them) on the path.
_, _modules = load_checker(
    "flame-graph-regression", ("check", "answers", "cost", "flames", "bench")
)
check, answers, cost, flames, bench = (
    _modules[name] for name in ("check", "answers", "cost", "flames", "bench")
)


def _expected(seed):
    return answers.expected(*flames.profiles(seed))


def _service(path):
    return bench.load_service(LAB / path)


# -- the profiles ------------------------------------------------------------------------


def test_profiles_repeat_for_a_seed_and_change_with_it():
    assert flames.profiles(7) == flames.profiles(7)
    assert flames.profiles(7)[1] != flames.profiles(8)[1]


def test_folded_text_reads_back_as_the_same_counts():
    before, after, _ = flames.profiles(11)
    assert flames.parse_folded(flames.folded_text(after)) == after
    with pytest.raises(ValueError):
        flames.parse_folded("serve;handle\n")


def test_every_seed_has_a_clear_leader_in_each_question():
    # Sampling noise must not be able to swap the answers: the model keeps the leaders
    # clear in expectation, and the sampled profiles keep them clear too.
    for seed in range(1, 41):
        before, after, _ = flames.profiles(seed)
        old, new = answers.self_shares(before), answers.self_shares(after)
        growth = [new.get(name, 0) - old.get(name, 0) for name in {*old, *new}]
        assert flames.gap(old.values()) > 1.0, seed
        assert flames.gap(growth) > 2.0, seed


def test_seeds_differ_in_their_answers():
    found = [_expected(seed) for seed in range(1, 41)]
    assert len({want.top_self_before for want in found}) >= 2
    assert len({want.regressed_function for want in found}) == 2  # Sku.__eq__, re.compile
    assert len({want.share_frame for want in found}) >= 4
    assert len({round(want.regression_pp) for want in found}) >= 10


def test_the_regressed_function_is_one_of_the_deploys_two_changes():
    for seed in range(1, 41):
        assert _expected(seed).regressed_function in ("Sku.__eq__", "re.compile")


def test_flame_graphs_are_svg_and_the_diff_paints_growth_red():
    before, after, _ = flames.profiles(CHECK_SEED)
    for text in (flames.flame_svg(after, "after"), flames.diff_svg(before, after, "diff")):
        ElementTree.fromstring(text)
    diff = flames.diff_svg(before, after, "diff")
    grew = next(line for line in diff.splitlines() if "<title>Sku.__eq__ (" in line)
    assert 'fill="rgb(255,' in grew and "+" in grew


# -- part A: the expected answers, parsing and credit -------------------------------------


def test_the_expected_answers_follow_the_readme_definitions():
    before = {"serve;a;b": 30, "serve;a": 10, "serve;c": 60}
    after = {"serve;a;b": 70, "serve;a": 10, "serve;c": 20}
    want = answers.expected(before, after, "a")
    assert want.top_self_before == "c"  # 60% of before's samples end in c
    assert math.isclose(want.share_under_pct, 80.0)  # a is on 80 of after's 100 stacks
    assert want.regressed_function == "b"  # b's self share grew from 30% to 70%
    assert math.isclose(want.regression_pp, 40.0)
    assert want.frames == {"serve", "a", "b", "c"}


def test_the_solutions_answers_are_right_for_the_check_seed():
    want = _expected(CHECK_SEED)
    given, problem = answers.parse((LAB / "solution" / "answers.json").read_bytes())
    assert given is not None, problem
    assert (
        answers.grade_frame(given, "top_self_before", want.top_self_before, want.frames).credit == 1
    )
    assert answers.grade_number(given, "share_under_pct", want.share_under_pct).credit == 1
    assert (
        answers.grade_frame(
            given, "regressed_function", want.regressed_function, want.frames
        ).credit
        == 1
    )
    assert answers.grade_number(given, "regression_pp", want.regression_pp).credit == 1


def test_another_seeds_answers_earn_nothing_on_the_check_seed():
    want, other = _expected(CHECK_SEED), _expected(77)
    assert other.top_self_before != want.top_self_before
    assert other.regressed_function != want.regressed_function
    assert answers.falling(abs(other.share_under_pct - want.share_under_pct)) == 0


def test_answers_json_must_be_one_json_object():
    assert answers.parse(None)[0] is None
    for bad in (b"not json", b"[1, 2]", b"\xff\xfe"):
        given, problem = answers.parse(bad)
        assert given is None and "answers.json" in problem


FRAMES = frozenset({"serve", "handle", "Sku.__eq__", "re.compile", "format_money"})


@pytest.mark.parametrize(
    "value",
    ["Sku.__eq__", " Sku.__eq__ ", "Sku.__eq__()", "service.Sku.__eq__", "service.py:Sku.__eq__"],
)
def test_honest_forms_of_a_frame_name_are_read(value):
    assert answers.read_frame(value, FRAMES) == "Sku.__eq__"


@pytest.mark.parametrize(
    "value",
    [
        "Sku.__eq__ or re.compile",
        "Sku.__eq__, re.compile",
        ["Sku.__eq__"],
        "__eq__",
        "sku.__eq__",
        1,
    ],
)
def test_a_frame_answer_that_names_no_single_frame_is_wrong(value):
    assert answers.read_frame(value, FRAMES) is None
    graded = answers.grade_frame({"f": value}, "f", "Sku.__eq__", FRAMES)
    assert graded.credit == 0 and "f:" in graded.output


@pytest.mark.parametrize("value", [39.5, "39.5", "39.5%", " 39.5 pp ", "+39.5"])
def test_honest_forms_of_a_number_are_read(value):
    assert answers.read_number(value) == 39.5


@pytest.mark.parametrize("value", ["39 or 40", [39, 40], "39-40", True, "about 39", float("nan")])
def test_a_number_answer_that_names_no_single_number_is_wrong(value):
    assert answers.read_number(value) is None
    assert answers.grade_number({"n": value}, "n", 39.5).credit == 0


def test_part_a_credit_falls_linearly_with_the_error_and_has_no_cliff():
    assert answers.falling(0.0) == answers.falling(0.5) == 1.0
    assert answers.falling(3.0) == answers.falling(10.0) == 0.0
    assert math.isclose(answers.falling(1.75), 0.5)
    errors = [step / 100 for step in range(0, 400)]
    credits = [answers.falling(error) for error in errors]
    for near, far in zip(credits, credits[1:], strict=False):
        assert 0 <= near - far <= 0.01 / 2.5 + 1e-12  # 0.01 pp more costs at most its share


# -- part B: orders, budgets, credit --------------------------------------------------------


def test_orders_repeat_for_a_seed_and_hidden_ones_are_not_the_visible_ones():
    assert bench.make_orders(5) == bench.make_orders(5)
    hidden = bench.make_orders(
        cost.hidden_seed(5), count=cost.HIDDEN_ORDERS, lines=cost.HIDDEN_LINES
    )
    visible_ids = {order["order"] for order in bench.make_orders(5)}
    assert not visible_ids & {order["order"] for order in hidden}
    assert all(
        cost.HIDDEN_LINES[0] <= len(order["lines"]) <= cost.HIDDEN_LINES[1] for order in hidden
    )


def test_hidden_seeds_do_not_follow_from_the_learners_seed_alone():
    seeds = [cost.hidden_seed(seed) for seed in range(200)]
    assert len(set(seeds)) == 200
    assert all(hidden != seed for seed, hidden in enumerate(seeds))
    assert cost.HIDDEN_SALT not in (LAB / "README.md").read_text()


def test_every_order_repeats_skus_in_other_spellings():
    for order in bench.make_orders(CHECK_SEED):
        raw = [line["sku"] for line in order["lines"]]
        codes = {text.strip().upper().replace("-", "").replace(" ", "") for text in raw}
        assert len(codes) < len(set(raw)) < len(raw)


def test_the_speed_credit_is_full_then_falls_in_log_ratio_without_a_cliff():
    assert cost.speed_credit(0.5) == cost.speed_credit(cost.FULL_RATIO) == 1.0
    assert cost.speed_credit(cost.ZERO_RATIO) == cost.speed_credit(100) == 0.0
    middle = math.sqrt(cost.FULL_RATIO * cost.ZERO_RATIO)
    assert math.isclose(cost.speed_credit(middle), 0.5)
    ratios = [1 + step / 100 for step in range(0, 200)]
    credits = [cost.speed_credit(ratio) for ratio in ratios]
    # The steepest step is at FULL_RATIO: d(credit)/d(ratio) = 1 / (ratio ln(ZERO / FULL)).
    steepest = 0.01 / (cost.FULL_RATIO * math.log(cost.ZERO_RATIO / cost.FULL_RATIO))
    for near, far in zip(credits, credits[1:], strict=False):
        assert 0 <= near - far <= steepest + 1e-12


def test_the_cpu_cross_check_allows_a_generous_ratio_and_the_clocks_ticks():
    assert cost.cpu_agrees(0.8, 0.2)
    assert cost.cpu_agrees(0.05, 0.0)  # one tick of the clock against none
    assert not cost.cpu_agrees(0.9, 0.2)
    assert cost.cpu_allowance(0.01) == cost.CPU_BUDGET_FLOOR_S
    assert cost.cpu_allowance(0.2) == cost.CPU_BUDGET_RATIO * 0.2


def test_the_budget_is_a_fixed_multiple_of_the_references_calls():
    assert cost.budget(1000) == cost.BUDGET_RATIO * 1000


# -- part B: facts about the lab's own services ---------------------------------------------


def test_correct_alternatives_give_the_references_invoices_at_about_its_calls():
    reference = _service("solution/service.py")
    alternatives = [
        _service(f"variants/{name}/service.py")
        for name in ("correct-dict-by-code", "correct-sort-and-scan")
    ]
    for order in bench.make_orders(CHECK_SEED):
        text = json.dumps(order)
        want, calls = bench.counted(reference.handle, text, 10**8)
        for alternative in alternatives:
            got, their_calls = bench.counted(alternative.handle, text, 10**8)
            assert json.loads(got) == json.loads(want)
            assert their_calls <= cost.FULL_RATIO * calls


def test_the_deployed_service_passes_the_budget_on_every_visible_order():
    reference, starter = _service("solution/service.py"), _service("starter/service.py")
    for order in bench.make_orders(CHECK_SEED):
        text = json.dumps(order)
        _, calls = bench.counted(reference.handle, text, 10**8)
        with pytest.raises(bench.CallLimit):
            bench.counted(starter.handle, text, cost.budget(calls))


def test_the_deployed_service_gives_the_same_invoice_on_a_small_order():
    # Slow, not wrong: on an order small enough to finish, the invoices agree.
    order = bench.make_orders(3, count=1, lines=(200, 200))[0]
    text = json.dumps(order)
    reference, starter = _service("solution/service.py"), _service("starter/service.py")
    assert json.loads(starter.handle(text)) == json.loads(reference.handle(text))


def test_an_order_with_a_bad_signature_is_refused():
    order = bench.make_orders(3, count=1, lines=(10, 10))[0]
    order["signature"] = "0" * 64
    invoice = json.loads(_service("solution/service.py").handle(json.dumps(order)))
    assert invoice == {"order": order["order"], "error": "unauthorised"}


# -- the runner's protocol, run as the checker starts it (a plain subprocess here) ------------


def _runner(tmp_path, service, mode):
    """The runner started as the checker starts it, in a folder with ``service``."""
    shutil.copy(LAB / service, tmp_path / "service.py")
    source = (LAB / "grader" / "runner.py").read_text()
    return subprocess.Popen(
        [sys.executable, "-s", "-c", source, mode],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"},
    )


def test_the_runner_counts_what_bench_counts_and_stops_past_the_limit(tmp_path):
    order = json.dumps(bench.make_orders(3, count=1, lines=(300, 300))[0])
    reference = _service("solution/service.py")
    bench.counted(reference.handle, order, 10**8)  # the first order also fills re's cache
    _, calls = bench.counted(reference.handle, order, 10**8)
    runner = _runner(tmp_path, "solution/service.py", "count")
    try:
        assert runner.stdout.readline() == "READY\n"
        for _ in range(2):
            runner.stdin.write(f"{10**9} {order}\n")
            runner.stdin.flush()
            kind, counted, invoice = runner.stdout.readline().split(" ", 2)
        assert kind == "ANSWER" and abs(int(counted) - calls) <= 10
        assert json.loads(invoice)["order"] == json.loads(order)["order"]
        runner.stdin.write(f"{calls // 2} {order}\n")
        runner.stdin.flush()
        assert runner.stdout.readline() == "OVER\n"
        assert runner.wait(10) == 0
    finally:
        runner.kill()


def test_the_runner_stops_a_service_that_touches_the_profiler(tmp_path):
    silenced = (
        (LAB / "starter" / "service.py")
        .read_text()
        .replace(
            "    order = parse_order(text)",
            "    sys.setprofile(None)\n    order = parse_order(text)",
        )
    )
    (tmp_path / "silenced.py").write_text(silenced)
    runner = _runner(tmp_path, tmp_path / "silenced.py", "count")
    try:
        assert runner.stdout.readline() == "READY\n"
        runner.stdin.write(f"1000 {json.dumps(bench.make_orders(3, count=1)[0])}\n")
        runner.stdin.flush()
        assert runner.wait(10) == 70
        assert "The checker stopped your service" in runner.stderr.read()
    finally:
        runner.kill()
