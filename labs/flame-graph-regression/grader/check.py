"""Hidden checker for flame-graph-regression: grades answers.json (part A) and service.py
(part B).

Part A generates the learner's own profiles with the lab's flames.py (exactly as the
learner's copy does for their seed) and compares answers.json with what those folded
stacks show (answers.py). Part B runs the learner's service.py and the reference's
under the trusted runner (runner.py, through service_runs.py), each as an isolated
learner process, on the learner's own bulk orders (a preview) and on fresh, salted
hidden ones (cost.py): the invoices must equal the reference's, and the calls counted
under the runner's profile function are compared with the reference's on the same
orders. The count comes from inside the learner's process, so it is believed only when
the CPU time of a second, uncounted run, read from /proc, agrees with the reference's.

flames.py, bench.py and the reference service are the lab's own starter/flames.py,
starter/bench.py and solution/service.py, which lab.toml's ``[grader] include`` puts
beside this file.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "starter"))  # flames.py and bench.py, as the learner has them

import answers  # noqa: E402
import cost  # noqa: E402
import flames  # noqa: E402
from downstack_harness import Grader  # noqa: E402
from service_runs import NO_LIMIT, Reply, Tampered, count_run, time_run  # noqa: E402

import bench  # noqa: E402

REFERENCE = HERE / "solution"
DEFAULT_SEED = 4242  # lab.toml's check_seed; used when no seed is given
PREVIEW_POINTS = 1.0
CORRECT_POINTS = 2.0
SPEED_POINTS = 3.5
PART_B = {
    "preview": "service.py on your seed's bulk orders (bench.py --seed): invoices and calls",
    "correct": "service.py: invoices of bulk orders it has not seen equal the reference's",
    "speed": "service.py: calls per bulk order against the reference's, on orders it has not seen",
}


# -- part A ------------------------------------------------------------------------------


def check_answers(g: Grader, seed: int) -> None:
    before, after, share_frame = flames.profiles(seed)
    want = answers.expected(before, after, share_frame)
    given, problem = answers.parse(g.submission_file("answers.json"))
    questions = (
        ("top_self_before", "the function with the most self time before the deploy", 1.0),
        ("share_under_pct", f"the share of after's samples under {share_frame}", 1.0),
        ("regressed_function", "the function whose self time grew the most", 0.5),
        ("regression_pp", "how many percentage points its self time grew", 1.0),
    )
    graded: dict[str, answers.Graded] = {}
    for key, _, _ in questions:
        if given is None:
            graded[key] = answers.Graded(0.0, problem)
        elif key in ("top_self_before", "regressed_function"):
            graded[key] = answers.grade_frame(given, key, getattr(want, key), want.frames)
        else:
            graded[key] = answers.grade_number(given, key, getattr(want, key))
    if given is not None and graded["regressed_function"].credit < 1:
        graded["regression_pp"] = answers.Graded(
            0.0, "regression_pp counts once regressed_function names the right function."
        )
    for key, question, points in questions:
        result = graded[key]
        g.check(
            f"answers.json: {question} (seed {seed})",
            result.credit == 1.0,
            score=round(points * result.credit, 3),
            max_score=points,
            output=result.output,
            # About the learner's own profiles: `labs check --seeds` knows the solution's
            # answers.json was written for check_seed.
            tags=("seed-answer",),
        )


# -- part B ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    text: str
    order_id: str
    lines: int


def orders_for(seed: int) -> tuple[list[Order], list[Order]]:
    """(the visible orders bench.py shows the learner, the hidden ones)."""
    visible = bench.make_orders(seed)
    hidden = bench.make_orders(
        cost.hidden_seed(seed), count=cost.HIDDEN_ORDERS, lines=cost.HIDDEN_LINES
    )
    return [as_order(order) for order in visible], [as_order(order) for order in hidden]


def as_order(order: dict) -> Order:
    return Order(json.dumps(order), order["order"], len(order["lines"]))


def same_json(text: str, expected: str) -> bool:
    try:
        return json.loads(text) == json.loads(expected)
    except json.JSONDecodeError:
        return False


def same_invoice(reply: Reply, expected: str) -> bool:
    return reply.kind == "answer" and same_json(reply.text, expected)


def describe(order: Order, reply: Reply, expected: Reply, right: bool) -> str:
    head = f"{order.order_id} ({order.lines:,} lines): "
    if reply.kind == "over":
        return head + (
            f"stopped after {reply.calls:,} calls, {cost.BUDGET_RATIO} times the reference's "
            f"{expected.calls:,}: not answered."
        )
    if reply.kind == "slow":
        return head + (
            f"stopped after {reply.text} of CPU time, past its allowance of "
            f"{cost.cpu_allowance(expected.cpu_s):.2f} s ({cost.CPU_BUDGET_RATIO} times the "
            f"reference's {expected.cpu_s:.2f} s, at least {cost.CPU_BUDGET_FLOOR_S:g} s): "
            "not answered."
        )
    if reply.kind != "answer":
        return head + f"no invoice: {reply.text[:400]}"
    ratio = reply.calls / expected.calls
    verdict = "invoice right" if right else "invoice differs from the reference's"
    return (
        head + f"{verdict}; {reply.calls:,} calls, the reference {expected.calls:,} ({ratio:.2f}x)."
    )


def first_difference(reply: Reply, expected: str) -> str:
    """Where a wrong invoice first differs, for the learner's own (visible) orders."""
    try:
        got = json.loads(reply.text)
    except json.JSONDecodeError:
        return f"  not JSON: {reply.text[:200]}"
    want = json.loads(expected)
    if not isinstance(got, dict):
        return f"  not an object: {reply.text[:200]}"
    for key in want:
        mine, theirs = got.get(key), want[key]
        if mine == theirs:
            continue
        if key == "lines" and isinstance(mine, list):
            for number, (line, right) in enumerate(zip(mine, theirs, strict=False), 1):
                if line != right:
                    return f"  line {number}: expected {_quoted(right)}, got {_quoted(line)}"
            return f"  {len(mine)} invoice lines, expected {len(theirs)}"
        return f"  {key}: expected {_quoted(theirs)}, got {_quoted(mine)}"
    return "  extra keys: " + ", ".join(sorted(set(got) - set(want)))[:200]


def _quoted(value: object) -> str:
    return json.dumps(value)[:300]


@dataclass(frozen=True)
class Measured:
    right: list[bool]
    credit: float  # speed credit over the orders answered right, times their share
    ratio: float | None


def measure(replies: list[Reply], expected: list[Reply], right: list[bool]) -> Measured:
    mine = sum(r.calls for r, ok in zip(replies, right, strict=True) if ok)
    theirs = sum(e.calls for e, ok in zip(expected, right, strict=True) if ok)
    share = sum(right) / len(right)
    if not theirs:
        return Measured(right, 0.0, None)
    ratio = mine / theirs
    return Measured(right, cost.speed_credit(ratio) * share, ratio)


def zero_part_b(g: Grader, reason: str) -> None:
    g.check(PART_B["preview"], False, max_score=PREVIEW_POINTS, output=reason)
    g.check(PART_B["correct"], False, max_score=CORRECT_POINTS, output=reason, visibility="hidden")
    g.check(PART_B["speed"], False, max_score=SPEED_POINTS, output=reason, visibility="hidden")


def check_service(g: Grader, seed: int) -> None:
    visible, hidden = orders_for(seed)
    orders = visible + hidden
    texts = [order.text for order in orders]
    expected = count_run(g, REFERENCE, texts, [NO_LIMIT] * len(texts), [None] * len(texts))
    if any(reply.kind != "answer" for reply in expected):
        raise RuntimeError(f"the reference failed: {[r.text for r in expected][:2]}")
    limits = [cost.budget(reply.calls) for reply in expected]
    cpu_caps = [cost.cpu_allowance(reply.cpu_s) for reply in expected]
    try:
        replies = count_run(g, g.submission_dir, texts, limits, cpu_caps)
    except Tampered as tampered:
        zero_part_b(g, f"{tampered} No part B points are measured.")
        return
    right = [same_invoice(r, e.text) for r, e in zip(replies, expected, strict=True)]
    believed, note = cross_check(
        g,
        [text for text, ok in zip(texts, right, strict=True) if ok],
        [reply.text for reply, ok in zip(replies, right, strict=True) if ok],
    )
    shown = len(visible)
    lines = [describe(*row) for row in zip(orders, replies, expected, right, strict=True)]
    for index in range(shown):
        if replies[index].kind == "answer" and not right[index]:
            lines[index] += "\n" + first_difference(replies[index], expected[index].text)
    if not believed:
        zero_part_b(g, "\n".join([note, "", *lines[:shown]]))
        return

    preview = measure(replies[:shown], expected[:shown], right[:shown])
    share = sum(preview.right) / shown
    score = PREVIEW_POINTS * (share + preview.credit) / 2
    if preview.ratio is None:
        calls = "calls not compared, since speed counts only over the invoices that are right"
    else:
        calls = f"calls {preview.ratio:.2f} times the reference's over the invoices that are right"
    summary = (
        f"{sum(preview.right)} of {shown} invoices right; {calls} (full speed credit up to "
        f"{cost.FULL_RATIO:g}x, none from {cost.ZERO_RATIO:g}x). {note}"
    )
    g.check(
        PART_B["preview"],
        score == PREVIEW_POINTS,
        score=round(score, 3),
        max_score=PREVIEW_POINTS,
        output="\n".join([summary, *lines[:shown], HIDDEN_NOTE]),
    )
    hidden_right = right[shown:]
    g.check(
        PART_B["correct"],
        all(hidden_right),
        score=round(CORRECT_POINTS * sum(hidden_right) / len(hidden_right), 3),
        max_score=CORRECT_POINTS,
        output=hidden_correct_output(replies[shown:], hidden_right),
        visibility="hidden",
    )
    speed = measure(replies[shown:], expected[shown:], hidden_right)
    g.check(
        PART_B["speed"],
        speed.credit == 1.0,
        score=round(SPEED_POINTS * speed.credit, 3),
        max_score=SPEED_POINTS,
        output=hidden_speed_output(speed),
        visibility="hidden",
    )


def hidden_correct_output(replies: list[Reply], right: list[bool]) -> str:
    lines = [f"{sum(right)} of {len(right)} invoices right."]
    stopped = sum(reply.kind in ("over", "slow") for reply in replies)
    wrong = sum(reply.kind == "answer" and not ok for reply, ok in zip(replies, right, strict=True))
    failed = len(right) - sum(right) - stopped - wrong
    if stopped:
        lines.append(
            f"{stopped} stopped past {cost.BUDGET_RATIO} times the reference's calls or "
            f"{cost.CPU_BUDGET_RATIO} times its CPU time: what does an order's cost grow with?"
        )
    if wrong:
        lines.append(
            f"{wrong} differ from the reference's: these orders spell their SKUs in every way "
            "the merge rule allows, repeat them far apart, and give repeats other prices."
        )
    if failed:
        lines.append(f"{failed} got no invoice: the service raised, crashed or gave no answer.")
    return "\n".join(lines)


def hidden_speed_output(speed: Measured) -> str:
    if speed.ratio is None:
        return "No invoice right, so no calls to compare: speed counts over right invoices only."
    text = (
        f"Calls {speed.ratio:.2f} times the reference's over the invoices that are right "
        f"(full credit up to {cost.FULL_RATIO:g}x, none from {cost.ZERO_RATIO:g}x), times "
        f"the share of invoices right ({sum(speed.right)} of {len(speed.right)})."
    )
    if speed.ratio > cost.FULL_RATIO:
        text += " Which work does the service do once per line that it could do once per order?"
    return text


HIDDEN_NOTE = (
    "These are your seed's orders, which you can replay: a preview. Hidden checks run "
    f"{cost.HIDDEN_ORDERS} bulk orders you cannot know, with the same criteria, and carry "
    "most of part B's points."
)


def cross_check(g: Grader, texts: list[str], invoices: list[str]) -> tuple[bool, str]:
    """Whether a run without the counter gives the same ``invoices`` for ``texts`` in a
    CPU time that agrees with the calls counted; and what the learner should read."""
    if not texts:
        return True, ""
    try:
        _, reference_s, problem = time_run(g, REFERENCE, texts, float("inf"))
        if reference_s is None:
            raise RuntimeError(f"the reference's CPU time: {problem}")
        cap = cost.CPU_RATIO_ALLOWED * reference_s + cost.CPU_SLACK_S
        uncounted, mine_s, problem = time_run(g, g.submission_dir, texts, cap)
    except Tampered as tampered:
        return False, f"{tampered} No part B points are measured."
    print(
        f"CPU without the counter: reference {reference_s:.3f} s, learner {mine_s} s",
        file=sys.stderr,
    )
    if problem or mine_s is None:
        return False, f"{problem} The calls counted are not believed, so part B earns nothing."
    if len(uncounted) < len(texts) or not cost.cpu_agrees(mine_s, reference_s):
        return False, (
            f"Your service's calls were counted, but in a run without the counter its CPU "
            f"time, read from /proc, was {mine_s:.2f} s or more against the reference's "
            f"{reference_s:.2f} s on the same orders: more than {cost.CPU_RATIO_ALLOWED:g} "
            "times as much. The calls counted are not believed, so part B earns nothing. "
            "Work the profiler does not see is still there: a loop inside a built-in (such "
            "as `in` or `index` on a list, which compare element by element in C), or a "
            "counter that was silenced."
        )
    if any(not same_json(mine, theirs) for mine, theirs in zip(uncounted, invoices, strict=True)):
        return False, (
            "Without the counter your service gave other invoices than with it, so the "
            "calls counted are not believed and part B earns nothing."
        )
    return True, (
        f"A run without the counter agrees: {mine_s:.2f} s of CPU time, the reference "
        f"{reference_s:.2f} s on the same orders."
    )


def main() -> None:
    g = Grader()
    seed = int(os.environ.get("DOWNSTACK_SEED", DEFAULT_SEED))
    check_answers(g, seed)
    check_service(g, seed)
    g.emit()


if __name__ == "__main__":
    main()
