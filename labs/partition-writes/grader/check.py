"""Hidden checker for partition-writes: grades lost.json (part A) and node.py (part B).

Part A replays the learner's seed with the starter's node (in this process) and compares
the lost acknowledged writes with lost.json. Part B runs the learner's node.py as three
isolated learner processes and drives them with the simulator over pipes, on visible and
hidden seeds (run_plan.py: the visible runs are a preview, the hidden ones carry the
weight); Jepsen's set check decides, and availability is compared with the reference
node on the very same seeds, simulated here in-process.

The simulator and both nodes are the lab's own starter/simulate.py, starter/node.py and
solution/node.py, which lab.toml's `[grader] include` puts beside this file: the checker
grades with exactly the code the learner was given.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "starter"))  # simulate.py, as the learner has it

from downstack_harness import Grader  # noqa: E402
from lost_answer import grade_answer  # noqa: E402
from node_process import LearnerNode, NodeHung  # noqa: E402
from partition_availability import NONE, PartitionWrites, writes_during_partitions  # noqa: E402
from run_plan import hidden_runs, visible_runs  # noqa: E402
from set_check import SetCheck, set_check  # noqa: E402
from simulate import NODE_IDS, NodeError, Result, parse_reply, simulate  # noqa: E402

STARTER_NODE = "starter/node.py"
REFERENCE_NODE = "solution/node.py"
DEFAULT_SEED = 4242  # lab.toml's check_seed; used when no seed is given
ANSWER_WITHIN_S = 3.0  # per message: generous, only there to stop a node that hangs
PART_B_BUDGET_S = 45.0  # all learner runs together; a correct node needs a few seconds
SAFE_AVAILABILITY_SHARE = 0.5  # below this share of the reference, "safe" means "refuses"
# Of the writes sent while a node is cut off, the share the reference acknowledges.
PARTITION_AVAILABILITY_SHARE = 0.5
# Points per check. The visible runs can be recognised by a node (their seeds follow from
# the learner's), so they are a preview; the hidden runs carry part B.
LOST_POINTS = 4.0
VISIBLE_SAFETY_POINTS = 1.0
HIDDEN_SAFETY_POINTS = 3.0
AVAILABILITY_POINTS = 2.0


# -- running nodes ---------------------------------------------------------------------


class TrustedNode:
    """A node module of our own, called in-process, with the same JSON round trip."""

    def __init__(self, node_id: str, module) -> None:
        self.node_id = node_id
        self.node = module.Node()

    def exchange(self, message: dict) -> dict:
        reply = self.node.handle(json.loads(json.dumps(message)))
        return parse_reply(self.node_id, json.dumps(reply))


def load_module(relative_path: str):
    """A fresh module from a file beside this one, e.g. load_module("starter/node.py")."""
    name = relative_path.removesuffix(".py").replace("/", "_")
    spec = importlib.util.spec_from_file_location(name, HERE / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trusted_run(module, seed: int, nemesis: str) -> Result:
    return simulate(seed, nemesis, {n: TrustedNode(n, module) for n in NODE_IDS})


@dataclass
class LearnerOutcome:
    seed: int
    nemesis: str
    check: SetCheck | None = None
    during: PartitionWrites = NONE  # the writes sent while a node was cut off
    problem: str = ""
    hung: bool = False


def learner_run(g: Grader, seed: int, nemesis: str) -> LearnerOutcome:
    outcome = LearnerOutcome(seed, nemesis)
    nodes: dict[str, LearnerNode] = {}
    try:
        for node_id in NODE_IDS:
            nodes[node_id] = LearnerNode(g, node_id, ANSWER_WITHIN_S)
        result = simulate(seed, nemesis, nodes)
        outcome.check = set_check(result.history, NODE_IDS)
        outcome.during = writes_during_partitions(result.history, result.network)
    except NodeError as error:
        outcome.hung = isinstance(error, NodeHung)
        outcome.problem = describe_node_error(error, nodes.get(error.node_id))
    finally:
        for node in nodes.values():
            node.close()
    return outcome


def describe_node_error(error: NodeError, node: LearnerNode | None) -> str:
    """What went wrong with a node, with the end of its stderr unless already quoted."""
    problem = f"Node {error.node_id} {error.problem}"
    # The harness quotes the stderr of a node that exited; one that hung or answered
    # garbage is still running, and its last words are worth showing too.
    if "\n" not in problem:
        problem += "."
    tail = node.stderr_tail() if node is not None else ""
    if tail and tail not in problem:
        problem += f"\nIts last words on stderr:\n{tail}"
    return problem


# -- part B verdicts --------------------------------------------------------------------


def availability(checks: list[SetCheck]) -> float:
    attempted = sum(len(c.attempted) for c in checks)
    return sum(len(c.acknowledged) for c in checks) / attempted if attempted else 0.0


def describe_failure(outcome: LearnerOutcome) -> str:
    where = f"seed {outcome.seed} (--nemesis {outcome.nemesis})"
    if outcome.check is None:
        return f"{where}: {outcome.problem}"
    check = outcome.check
    parts = []
    if check.lost:
        sample = ", ".join(str(x) for x in sorted(check.lost)[:8])
        parts.append(
            f"{len(check.lost)} acknowledged writes missing from a final read (e.g. {sample})"
        )
    if check.unexpected:
        sample = ", ".join(str(x) for x in sorted(check.unexpected)[:8])
        parts.append(
            f"{len(check.unexpected)} writes in a final read that failed or were never "
            f"written (e.g. {sample})"
        )
    if check.unread_nodes:
        parts.append(f"no answer to the final read from {', '.join(check.unread_nodes)}")
    return f"{where}: " + "; ".join(parts)


def safety_verdict(outcomes: list[LearnerOutcome], reference: list[SetCheck]) -> tuple[bool, str]:
    bad = [o for o in outcomes if o.check is None or not o.check.valid]
    if bad:
        lines = [describe_failure(o) for o in bad[:3]]
        more = f"\n... and {len(bad) - 3} more runs" if len(bad) > 3 else ""
        return False, (
            f"{len(bad)} of {len(outcomes)} runs failed:\n"
            + "\n".join(lines)
            + more
            + "\nReplay a run with: python3 simulate.py --seed S --nemesis N"
        )
    mine = availability([o.check for o in outcomes])
    theirs = availability(reference)
    if mine < SAFE_AVAILABILITY_SHARE * theirs:
        return False, (
            f"No write was lost, but your node acknowledged only {mine:.0%} of the writes, "
            f"where the reference acknowledged {theirs:.0%} on the same seeds. A store that "
            "refuses writes can never lose one: safety counts from half the reference's "
            "availability up."
        )
    return True, f"{len(outcomes)} runs: no acknowledged write lost, no unexpected write."


def availability_verdict(
    outcomes: list[LearnerOutcome], reference: list[PartitionWrites], safe: bool
) -> tuple[bool, str]:
    """Writes acknowledged while a node is cut off, against the reference on the same runs."""
    complete = all(o.check is not None for o in outcomes)
    mine = sum((o.during for o in outcomes), NONE).share if complete else 0.0
    theirs = sum(reference, NONE).share
    needed = PARTITION_AVAILABILITY_SHARE * theirs
    measured = (
        f"Of the writes sent while a node was cut off, over all {len(outcomes)} runs (the "
        f"hidden ones included), your node acknowledged {mine:.1%}; the reference node "
        f"acknowledged {theirs:.1%} on the same runs (at least {needed:.1%} needed)."
    )
    if not safe:
        return False, measured + (
            " Availability counts once no run, hidden or not, loses an acknowledged write or "
            "shows an unexpected one."
        )
    if mine < needed:
        return False, measured + (
            " Look at what happens while one node is cut off: can the two nodes that still "
            "reach each other take writes safely?"
        )
    return True, measured


# -- the checker ------------------------------------------------------------------------


def main() -> None:
    g = Grader()
    seed = int(os.environ.get("DOWNSTACK_SEED", DEFAULT_SEED))
    starter_node = load_module(STARTER_NODE)
    reference_node = load_module(REFERENCE_NODE)

    # Part A: the lost writes of the learner's own seed, as the starter's node loses them.
    history = trusted_run(starter_node, seed, "isolate-leader").history
    grade = grade_answer(g.submission_file("lost.json"), set_check(history, NODE_IDS), LOST_POINTS)
    g.check(
        f"lost.json: the acknowledged writes lost on seed {seed}",
        grade.passed,
        score=grade.score,
        max_score=LOST_POINTS,
        output=grade.output,
        # The answer is the learner's seed's; `labs check --seeds` knows not to expect
        # the solution's lost.json, written for check_seed, to fit other seeds.
        tags=("seed-answer",),
    )

    # Part B: the learner's node under partitions, against the reference on the same seeds.
    visible, hidden = visible_runs(seed), hidden_runs(seed)
    reference: dict[tuple[int, str], SetCheck] = {}
    reference_during: dict[tuple[int, str], PartitionWrites] = {}
    for run in visible + hidden:
        result = trusted_run(reference_node, *run)
        reference[run] = set_check(result.history, NODE_IDS)
        reference_during[run] = writes_during_partitions(result.history, result.network)
    outcomes: dict[tuple[int, str], LearnerOutcome] = {}
    started = time.monotonic()
    for run in visible + hidden:
        # A node that hangs once would hang again: stop rather than run out the clock.
        if any(o.hung for o in outcomes.values()):
            outcomes[run] = LearnerOutcome(*run, problem="not run: a node hung earlier")
        elif time.monotonic() - started > PART_B_BUDGET_S:
            outcomes[run] = LearnerOutcome(
                *run, problem=f"not run: your node used up the {PART_B_BUDGET_S:g} s budget"
            )
        else:
            outcomes[run] = learner_run(g, *run)
    print(f"part B took {time.monotonic() - started:.1f} s", file=sys.stderr)

    shown = [outcomes[run] for run in visible]
    safe, output = safety_verdict(shown, [reference[run] for run in visible])
    if safe:
        output += (
            " These runs are a preview: the hidden runs, on seeds you cannot replay, carry "
            "most of part B's points."
        )
    g.check(
        "node.py: the set check on the runs you can replay (a preview)",
        safe,
        max_score=VISIBLE_SAFETY_POINTS,
        output=output,
    )
    every = list(outcomes.values())
    strictly_safe = all(o.check is not None and o.check.valid for o in every)
    good, output = availability_verdict(every, list(reference_during.values()), strictly_safe)
    g.check(
        "node.py: availability while a node is cut off, against the reference's",
        good,
        max_score=AVAILABILITY_POINTS,
        output=output,
    )
    unseen = [outcomes[run] for run in hidden]
    hidden_safe, output = safety_verdict(unseen, [reference[run] for run in hidden])
    g.check(
        "node.py: the set check on hidden seeds and partition schedules",
        hidden_safe,
        max_score=HIDDEN_SAFETY_POINTS,
        output=output,
        visibility="hidden",
    )
    g.emit()


if __name__ == "__main__":
    main()
