"""The partition-writes checker's logic: the set check, the lost.json grade, the run plan,
availability under partitions, the simulator, the node processes.

The checker is tried the way it grades: its files are assembled by the lab format
(grader/ plus the starter and solution files `[grader] include` names) into a folder of
their own, and imported from there under their own names, which are taken out of
sys.modules again so that other labs' modules of the same name cannot mix with them.
"""

import importlib
import importlib.util
import json
import random
import socket
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from tests.labs.checker_modules import load_checker, private_uses

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "partition-writes"
HARNESS = ROOT / "graders" / "harness"
COLLUDER = LAB / "variants" / "collude-past-the-simulator" / "node.py"
VISIBLE_ONLY = LAB / "variants" / "safe-on-visible-seeds-only" / "node.py"
WAIT_FOR_ALL = LAB / "variants" / "wait-for-every-replica" / "node.py"

# check first: it puts its starter/ folder (simulate.py) on the path, as in the container.
GRADER_MODULES = (
    "check",
    "downstack_harness",
    "set_check",
    "lost_answer",
    "run_plan",
    "partition_availability",
    "simulate",
    "node_process",
)


@pytest.fixture(scope="module")
def grader():
    """The checker's modules, imported from the files it receives in the container."""
    _, modules = load_checker("partition-writes", GRADER_MODULES)
    return type("Grader", (), modules)


NODES = ("n1", "n2", "n3")


def add(value, kind, node="n1", process="c1"):
    return {"process": process, "type": kind, "f": "add", "value": value, "node": node}


def final_read(node, values):
    return {"process": "final", "type": "ok", "f": "read", "value": values, "node": node}


def history_of(outcomes, reads):
    """Operations as (value, completion) pairs, then the final read of every node."""
    events = []
    for value, completion in outcomes:
        events += [add(value, "invoke"), add(value, completion)]
    return events + [final_read(node, values) for node, values in reads.items()]


def everywhere(values):
    return {node: list(values) for node in NODES}


def test_acknowledged_write_missing_from_the_final_read_is_lost(grader):
    history = history_of([(1, "ok"), (2, "ok"), (3, "ok")], everywhere([1, 3]))
    check = grader.set_check.set_check(history, NODES)
    assert check.lost == {2}
    assert not check.valid


def test_write_missing_from_one_node_only_is_lost(grader):
    reads = {"n1": [1, 2], "n2": [1, 2], "n3": [1]}
    check = grader.set_check.set_check(history_of([(1, "ok"), (2, "ok")], reads), NODES)
    assert check.lost == {2}


def test_indeterminate_writes_may_be_present_or_absent(grader):
    history = history_of([(1, "ok"), (2, "info"), (3, "info")], everywhere([1, 2]))
    check = grader.set_check.set_check(history, NODES)
    assert check.valid
    assert check.recovered == {2}
    assert check.indeterminate == {2, 3}


def test_failed_or_never_attempted_write_in_the_read_is_unexpected(grader):
    history = history_of([(1, "ok"), (2, "fail")], everywhere([1, 2, 99]))
    check = grader.set_check.set_check(history, NODES)
    assert check.unexpected == {2, 99}
    assert check.lost == set()
    assert not check.valid


def test_node_without_a_final_read_makes_the_check_fail(grader):
    reads = {"n1": [1], "n2": [1]}
    check = grader.set_check.set_check(history_of([(1, "ok")], reads), NODES)
    assert check.unread_nodes == ("n3",)
    assert not check.valid


def test_availability_is_acknowledged_over_attempted(grader):
    history = history_of([(1, "ok"), (2, "fail"), (3, "info"), (4, "ok")], everywhere([1, 4]))
    assert grader.set_check.set_check(history, NODES).availability == 0.5


@pytest.fixture
def lost_two(grader):
    """Writes 1-10 acknowledged (9 and 10 lost), 11 indeterminate and absent, 12 failed."""
    outcomes = [(value, "ok") for value in range(1, 11)] + [(11, "info"), (12, "fail")]
    history = history_of(outcomes, everywhere(range(1, 9)))
    return grader.set_check.set_check(history, NODES)


def test_exact_lost_set_gets_full_points(grader, lost_two):
    grade = grader.lost_answer.grade_answer(b"[10, 9]", lost_two, 4.0)
    assert (grade.passed, grade.score) == (True, 4.0)


def test_listing_every_acknowledged_write_earns_nothing(grader, lost_two):
    listed = json.dumps(list(range(1, 11))).encode()
    grade = grader.lost_answer.grade_answer(listed, lost_two, 4.0)
    assert (grade.passed, grade.score) == (False, 0.0)
    assert "8 were acknowledged" in grade.output


def test_counting_an_indeterminate_write_as_lost_is_a_near_miss(grader, lost_two):
    grade = grader.lost_answer.grade_answer(b"[9, 10, 11]", lost_two, 4.0)
    assert not grade.passed
    # recall 1, precision 2/3, base 2/10: 4 * (2/3 - 1/5) / (4/5)
    assert grade.score == pytest.approx(4 * (2 / 3 - 0.2) / 0.8, abs=0.01)
    assert "1 got no answer (info)" in grade.output


def test_half_the_lost_writes_and_nothing_else_earns_half_the_points(grader, lost_two):
    grade = grader.lost_answer.grade_answer(b"[10]", lost_two, 4.0)
    assert (grade.passed, grade.score) == (False, 2.0)
    assert "Partial credit: 2 of 4 points" in grade.output


def test_a_repeated_id_counts_once(grader, lost_two):
    once = grader.lost_answer.grade_answer(b"[10, 3]", lost_two, 4.0)
    many = grader.lost_answer.grade_answer(b"[10, 10, 10, 3, 3]", lost_two, 4.0)
    assert many.score == once.score
    assert "3 of the ids you listed repeat an id listed before them" in many.output
    exact = grader.lost_answer.grade_answer(b"[9, 10, 9, 10]", lost_two, 4.0)
    assert (exact.passed, exact.score) == (True, 4.0)


# (lost, acknowledged) shapes: the check seed's, the extremes seen over many seeds, tiny.
SHAPES = [(116, 363), (30, 400), (200, 335), (2, 10), (1, 1), (5, 5)]


@pytest.mark.parametrize(("lost", "acknowledged"), SHAPES)
def test_partial_credit_rises_with_every_right_id_and_never_jumps(grader, lost, acknowledged):
    credit = grader.lost_answer.partial_credit
    points = 4.0
    # The steepest a step can be: one id's share of the points, inflated by the chance
    # correction (1 / (1 - base), at most 2.5 over many seeds), plus rounding.
    base = lost / acknowledged if acknowledged > lost else 0.0
    step = points / lost * 1.25 / (1 - base) + 0.011
    for wrong in (0, 1, 5, lost // 2, acknowledged - lost):
        scores = [
            credit(found=k, wrong=wrong, lost=lost, acknowledged=acknowledged, points=points)
            for k in range(lost + 1)
        ]
        for fewer, more in pairwise(scores):
            assert fewer <= more
            assert more - fewer <= step, (wrong, fewer, more)
    for found in range(lost + 1):
        scores = [
            credit(found=found, wrong=f, lost=lost, acknowledged=acknowledged, points=points)
            for f in range(acknowledged - lost + 1)
        ]
        for fewer_wrong, more_wrong in pairwise(scores):
            assert more_wrong <= fewer_wrong
            assert fewer_wrong - more_wrong <= step


def test_partial_credit_is_the_share_of_lost_writes_found_when_nothing_wrong_is_listed(grader):
    credit = grader.lost_answer.partial_credit
    shares = {
        k: credit(found=k, wrong=0, lost=100, acknowledged=300, points=4.0) for k in (40, 60, 100)
    }
    assert shares == {40: 1.6, 60: 2.4, 100: 4.0}


@pytest.mark.parametrize(("lost", "acknowledged"), [(116, 363), (30, 400), (200, 335), (2, 10)])
def test_listing_every_acknowledged_write_earns_nothing_on_any_seed(grader, lost, acknowledged):
    wrong = acknowledged - lost
    credit = grader.lost_answer.partial_credit
    assert credit(found=lost, wrong=wrong, lost=lost, acknowledged=acknowledged, points=4) == 0
    # Nor does any list that is no more precise: half of them (rounded to fewer right ids).
    half = dict(found=lost // 2, wrong=wrong - wrong // 2)
    sample = credit(**half, lost=lost, acknowledged=acknowledged, points=4)
    assert sample == 0


def test_near_misses_cost_precision(grader):
    credit = grader.lost_answer.partial_credit
    exact = credit(found=116, wrong=0, lost=116, acknowledged=363, points=4.0)
    sprayed = [
        credit(found=116, wrong=f, lost=116, acknowledged=363, points=4.0) for f in (10, 59, 120)
    ]
    assert exact == 4.0
    assert sprayed == sorted(sprayed, reverse=True)
    assert sprayed[1] < 2.1  # every lost write plus 59 near misses: about half the points


def test_with_nothing_lost_only_the_empty_list_is_right(grader):
    credit = grader.lost_answer.partial_credit
    assert credit(found=0, wrong=0, lost=0, acknowledged=50, points=4.0) == 4.0
    assert credit(found=0, wrong=1, lost=0, acknowledged=50, points=4.0) == 0.0


def test_when_every_acknowledged_write_was_lost_listing_them_all_is_right(grader):
    credit = grader.lost_answer.partial_credit
    assert credit(found=5, wrong=0, lost=5, acknowledged=5, points=4.0) == 4.0
    assert credit(found=4, wrong=1, lost=5, acknowledged=5, points=4.0) == pytest.approx(2.56)


# -- the run plan ----------------------------------------------------------------------


def test_visible_runs_are_the_seed_and_the_next_two_with_both_schedules(grader):
    runs = grader.run_plan.visible_runs(4242)
    assert runs == [
        (seed, nemesis) for seed in (4242, 4243, 4244) for nemesis in ("isolate-leader", "rotate")
    ]


def test_hidden_runs_are_the_same_for_a_seed_and_differ_between_seeds(grader):
    plan = grader.run_plan
    assert plan.hidden_runs(4242) == plan.hidden_runs(4242)
    assert {s for s, _ in plan.hidden_runs(4242)}.isdisjoint(s for s, _ in plan.hidden_runs(4243))
    seeds = [s for s, _ in plan.hidden_runs(4242)]
    assert len(set(seeds)) == len(seeds)
    assert not set(seeds) & {s for s, _ in plan.visible_runs(4242)}
    assert [n for _, n in plan.hidden_runs(4242)].count("none") == 1


def test_hidden_seeds_follow_from_the_salt_not_from_the_seed_alone(grader, monkeypatch):
    plan = grader.run_plan
    salted = plan.hidden_runs(4242)
    # The old checker's derivation, from the seed and a name: anyone who guessed the name
    # could compute it.
    rng = random.Random("partition-writes hidden 4242")
    assert not {rng.randrange(2**31) for _ in range(9)} & {s for s, _ in salted}
    monkeypatch.setattr(plan, "HIDDEN_SALT", "another salt")
    assert not {s for s, _ in plan.hidden_runs(4242)} & {s for s, _ in salted}


def test_the_hidden_runs_carry_most_of_part_b(grader):
    check = grader.check
    part_b = check.VISIBLE_SAFETY_POINTS + check.HIDDEN_SAFETY_POINTS + check.AVAILABILITY_POINTS
    assert check.VISIBLE_SAFETY_POINTS / part_b <= 1 / 6
    assert check.LOST_POINTS + part_b == 10


def node_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_node_that_recognises_the_visible_runs_is_caught_on_the_hidden_ones(grader):
    check, set_check, plan = grader.check, grader.set_check.set_check, grader.run_plan
    overfit = node_module(VISIBLE_ONLY, "partition_visible_only")
    seed = check.DEFAULT_SEED
    for run in plan.visible_runs(seed):
        assert set_check(check.trusted_run(overfit, *run).history, NODES).valid
    hidden = [
        set_check(check.trusted_run(overfit, *run).history, NODES) for run in plan.hidden_runs(seed)
    ]
    assert sum(not c.valid for c in hidden) >= 6  # every run with a partition but a few


# -- availability while a node is cut off ----------------------------------------------


def test_a_partition_lasts_from_the_first_cut_to_the_heal(grader):
    windows = grader.partition_availability.partition_windows
    rotate = [
        (700, "isolate-follower"),
        (1100, "isolate-leader"),
        (1600, "heal"),
        (2000, "isolate-leader"),
        (2500, "heal"),
    ]
    assert windows(rotate) == [(700, 1600), (2000, 2500)]
    assert windows([]) == []


def test_writes_during_partitions_are_those_invoked_while_a_node_was_cut_off(grader):
    history = [
        {"f": "add", "type": "invoke", "value": 1, "time": 50},
        {"f": "add", "type": "ok", "value": 1, "time": 120},
        {"f": "add", "type": "invoke", "value": 2, "time": 150},
        {"f": "add", "type": "ok", "value": 2, "time": 260},  # acknowledged after the heal
        {"f": "add", "type": "invoke", "value": 3, "time": 180},
        {"f": "add", "type": "info", "value": 3, "time": 380},
        {"f": "add", "type": "invoke", "value": 4, "time": 250},
        {"f": "add", "type": "ok", "value": 4, "time": 255},
    ]
    counted = grader.partition_availability.writes_during_partitions(
        history, [(100, "isolate-leader"), (250, "heal")]
    )
    assert (counted.invoked, counted.acknowledged, counted.share) == (2, 1, 0.5)


def test_waiting_for_every_replica_is_far_below_the_reference_while_a_node_is_cut_off(grader):
    check, during = grader.check, grader.partition_availability.writes_during_partitions
    wait_for_all = node_module(WAIT_FOR_ALL, "partition_wait_for_all")
    reference = check.load_module(check.REFERENCE_NODE)
    runs = grader.run_plan.visible_runs(check.DEFAULT_SEED)
    totals = {}
    for name, module in (("wait", wait_for_all), ("reference", reference)):
        results = [check.trusted_run(module, *run) for run in runs]
        totals[name] = sum(
            (during(r.history, r.network) for r in results), grader.partition_availability.NONE
        )
    assert totals["wait"].share < 0.2 * totals["reference"].share
    assert totals["reference"].share > 0.5


@pytest.mark.parametrize("data", [None, b"", b"{}", b'["2", "3"]', b"[2, true]", b"\xff"])
def test_malformed_lost_json_is_explained(grader, lost_two, data):
    grade = grader.lost_answer.grade_answer(data, lost_two, 4.0)
    assert (grade.passed, grade.score) == (False, 0.0)
    assert "lost.json" in grade.output


def test_a_seed_replays_exactly(grader):
    node = grader.check.load_module(grader.check.STARTER_NODE)
    first = grader.check.trusted_run(node, 17, "rotate")
    second = grader.check.trusted_run(node, 17, "rotate")
    assert first.history == second.history
    assert first.trace == second.trace
    assert first.history != grader.check.trusted_run(node, 18, "rotate").history


def test_a_node_process_behaves_exactly_like_the_same_node_in_process(grader, tmp_path):
    simulate = grader.simulate
    piped = simulate.run_with_processes(
        5, "isolate-leader", [sys.executable, str(LAB / "starter" / "node.py")]
    )
    in_process = grader.check.trusted_run(
        grader.check.load_module(grader.check.STARTER_NODE), 5, "isolate-leader"
    )
    assert piped.history == in_process.history
    assert piped.trace == in_process.trace


def test_the_planted_bug_loses_writes_only_under_partitions(grader):
    check, set_check = grader.check, grader.set_check.set_check
    starter = check.load_module(check.STARTER_NODE)
    reference = check.load_module(check.REFERENCE_NODE)
    for seed in range(3):
        for nemesis in ("isolate-leader", "rotate"):
            assert set_check(check.trusted_run(starter, seed, nemesis).history, NODES).lost
            assert set_check(check.trusted_run(reference, seed, nemesis).history, NODES).valid
        assert set_check(check.trusted_run(starter, seed, "none").history, NODES).valid


def test_the_checker_reports_a_node_that_breaks_the_protocol(grader):
    class Mute:
        def exchange(self, message):
            return grader.simulate.parse_reply("n1", "not json")

    with pytest.raises(grader.simulate.NodeError, match="not JSON"):
        grader.simulate.simulate(1, "none", {n: Mute() for n in NODES})


def test_final_read_must_list_integers(grader):
    class Stringly:
        def __init__(self):
            self.inner = grader.check.load_module(grader.check.REFERENCE_NODE).Node()

        def exchange(self, message):
            reply = self.inner.handle(json.loads(json.dumps(message)))
            for sent in reply["send"]:
                if sent["body"]["type"] == "read_ok":
                    sent["body"]["elements"] = [str(e) for e in sent["body"]["elements"]]
            return grader.simulate.parse_reply("n", json.dumps(reply))

    with pytest.raises(grader.simulate.NodeError, match="list of integers"):
        grader.simulate.simulate(1, "none", {n: Stringly() for n in NODES})


def test_the_handed_in_answer_matches_the_check_seed(grader):
    check = grader.check
    history = check.trusted_run(
        check.load_module(check.STARTER_NODE), check.DEFAULT_SEED, "isolate-leader"
    ).history
    expected = grader.set_check.set_check(history, NODES).lost
    assert set(json.loads((LAB / "solution" / "lost.json").read_text())) == expected


# -- the node processes ----------------------------------------------------------------


def submission_with(tmp_path, node_source):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "node.py").write_text(node_source)
    (folder / "lost.json").write_text("[]")
    return folder


def isolated_run(grader, submission, seed, nemesis):
    """One run with the checker's own node processes; the result and each node's stderr.

    Outside a container the processes keep our uid, but the isolation (read-only copy,
    no sockets, no file creation) is the same seccomp filter the checker runs them with.
    The deadline per message is far beyond any machine's speed: only a hang reaches it.
    """
    g = grader.downstack_harness.Grader(environ={"DOWNSTACK_SUBMISSION": str(submission)})
    nodes = {}
    try:
        for node_id in NODES:
            nodes[node_id] = grader.node_process.LearnerNode(g, node_id, 60.0)
        result = grader.simulate.simulate(seed, nemesis, nodes)
        return result, {node_id: node.stderr_tail() for node_id, node in nodes.items()}
    finally:
        for node in nodes.values():
            node.close()


def test_an_isolated_node_process_behaves_exactly_like_the_same_node_in_process(grader, tmp_path):
    submission = submission_with(tmp_path, (LAB / "starter" / "node.py").read_text())
    isolated, _ = isolated_run(grader, submission, 5, "rotate")
    check = grader.check
    in_process = check.trusted_run(check.load_module(check.STARTER_NODE), 5, "rotate")
    assert isolated.history == in_process.history
    assert isolated.trace == in_process.trace


def test_a_node_that_stops_answering_is_reported_as_hung(grader, tmp_path, monkeypatch):
    monkeypatch.setattr(grader.check, "ANSWER_WITHIN_S", 1.0)
    submission = submission_with(tmp_path, "import time\nwhile True:\n    time.sleep(1)\n")
    g = grader.downstack_harness.Grader(environ={"DOWNSTACK_SUBMISSION": str(submission)})
    outcome = grader.check.learner_run(g, 1, "none")
    assert outcome.hung
    assert outcome.check is None
    assert outcome.problem == "Node n1 did not answer a message within 1 s."


def test_a_node_that_crashes_is_reported_with_its_stderr_quoted_once(grader, tmp_path):
    source = "import sys\nsys.stdin.readline()\nsys.exit('node gave up: no leader')\n"
    g = grader.downstack_harness.Grader(
        environ={"DOWNSTACK_SUBMISSION": str(submission_with(tmp_path, source))}
    )
    outcome = grader.check.learner_run(g, 1, "none")
    assert not outcome.hung
    assert outcome.problem.startswith("Node n1 exited with code 1")
    assert outcome.problem.count("node gave up: no leader") == 1


def colluding_node(tmp_path, channel):
    """The variant's node module with only `channel` open, its meeting points private."""
    spec = importlib.util.spec_from_file_location("partition_colluder", COLLUDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.CHANNELS = (getattr(module, channel),)
    module.SHARED_FILE = str(tmp_path / "acked.txt")
    module.UNIX_SOCKET_PATH = str(tmp_path / "{node}.sock")
    module.ABSTRACT_SOCKET_NAME = f"\0partition-test-{id(module)}-{tmp_path.name}-{{node}}"
    module.TCP_PORT_BASE = free_port_run()
    return module


def free_port_run(count=3):
    """A first port of `count` consecutive loopback ports that are free right now."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    start = probe.getsockname()[1]
    probe.close()
    for base in range(start, start + 2000, count):
        sockets = []
        try:
            for port in range(base, base + count):
                sockets.append(socket.socket())
                sockets[-1].bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free run of loopback ports")


@pytest.mark.parametrize(
    "channel", ["FileChannel", "TcpChannel", "NamedUnixChannel", "AbstractUnixChannel"]
)
def test_each_back_channel_alone_would_defeat_the_partitions(grader, tmp_path, channel):
    # In this process nothing stops the channel, so the variant is a real attempt: if the
    # checker let one through, the starter's bug would pass the set check.
    check, set_check = grader.check, grader.set_check.set_check
    for nemesis in ("isolate-leader", "rotate"):
        module = colluding_node(tmp_path / nemesis, channel)
        (tmp_path / nemesis).mkdir()
        colluding = set_check(check.trusted_run(module, 3, nemesis).history, NODES)
        starter = set_check(
            check.trusted_run(check.load_module(check.STARTER_NODE), 3, nemesis).history, NODES
        )
        assert starter.lost
        assert colluding.valid, f"{channel} lost {sorted(colluding.lost)[:5]}"


def test_isolated_colluding_nodes_find_no_channel_and_behave_like_the_starter(grader, tmp_path):
    submission = submission_with(tmp_path, COLLUDER.read_text())
    isolated, stderr = isolated_run(grader, submission, 3, "isolate-leader")
    check = grader.check
    starter = check.trusted_run(check.load_module(check.STARTER_NODE), 3, "isolate-leader")
    assert isolated.history == starter.history
    for node_id, tail in stderr.items():
        for channel in ("file in /tmp", "loopback TCP", "named unix", "abstract unix"):
            assert f"{node_id}: no {channel}" in tail
        assert tail.count("Operation not permitted") == 4, tail


def test_the_checker_uses_only_the_public_harness_api():
    """No file of the lab imports or reaches into a `_` name, the harness's or another's."""
    assert private_uses(LAB, imported_from="downstack_harness") == []
