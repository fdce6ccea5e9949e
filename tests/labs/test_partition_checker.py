"""The partition-writes checker's logic: the set check, the lost.json grade, the simulator."""

import filecmp
import importlib
import json
import sys
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[2] / "labs" / "partition-writes"
GRADER = LAB / "grader"
HARNESS = Path(__file__).resolve().parents[2] / "graders" / "harness"


GRADER_MODULES = ("set_check", "lost_answer", "simulate", "node_process", "check")


@pytest.fixture(scope="module")
def grader():
    """The checker's modules, imported from the lab's grader folder.

    Other labs' checkers use the same plain module names (check, simulate...), so any
    such module already imported is set aside, and put back afterwards.
    """
    set_aside = {name: sys.modules.pop(name) for name in GRADER_MODULES if name in sys.modules}
    sys.path[:0] = [str(GRADER), str(HARNESS)]
    try:
        modules = {name: importlib.import_module(name) for name in GRADER_MODULES}
        yield type("Grader", (), modules)
    finally:
        for path in (str(GRADER), str(HARNESS)):
            sys.path.remove(path)
        for name in GRADER_MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(set_aside)


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
    assert 0 < grade.score < 2.0
    assert "1 got no answer (info)" in grade.output


@pytest.mark.parametrize("data", [None, b"", b"{}", b'["2", "3"]', b"[2, true]", b"\xff"])
def test_malformed_lost_json_is_explained(grader, lost_two, data):
    grade = grader.lost_answer.grade_answer(data, lost_two, 4.0)
    assert (grade.passed, grade.score) == (False, 0.0)
    assert "lost.json" in grade.output


def test_a_seed_replays_exactly(grader):
    node = grader.check.load_module("starter_node.py")
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
        grader.check.load_module("starter_node.py"), 5, "isolate-leader"
    )
    assert piped.history == in_process.history
    assert piped.trace == in_process.trace


def test_the_planted_bug_loses_writes_only_under_partitions(grader):
    check, set_check = grader.check, grader.set_check.set_check
    starter = check.load_module("starter_node.py")
    reference = check.load_module("reference_node.py")
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
            self.inner = grader.check.load_module("reference_node.py").Node()

        def exchange(self, message):
            reply = self.inner.handle(json.loads(json.dumps(message)))
            for sent in reply["send"]:
                if sent["body"]["type"] == "read_ok":
                    sent["body"]["elements"] = [str(e) for e in sent["body"]["elements"]]
            return grader.simulate.parse_reply("n", json.dumps(reply))

    with pytest.raises(grader.simulate.NodeError, match="list of integers"):
        grader.simulate.simulate(1, "none", {n: Stringly() for n in NODES})


@pytest.mark.parametrize(
    ("shipped", "trusted"),
    [
        ("starter/simulate.py", "grader/simulate.py"),
        ("starter/node.py", "grader/starter_node.py"),
        ("solution/node.py", "grader/reference_node.py"),
    ],
)
def test_the_checker_grades_with_the_code_the_learner_has(shipped, trusted):
    assert filecmp.cmp(LAB / shipped, LAB / trusted, shallow=False)


def test_the_handed_in_answer_matches_the_check_seed(grader):
    check = grader.check
    history = check.trusted_run(
        check.load_module("starter_node.py"), check.DEFAULT_SEED, "isolate-leader"
    ).history
    expected = grader.set_check.set_check(history, NODES).lost
    assert set(json.loads((LAB / "solution" / "lost.json").read_text())) == expected
