"""Hidden checker for gc-p99-spike: drives the starter and the learner's service, compares.

Both services run the same way: the trusted runner (runner.py) imports service.py in a
process the harness starts under a uid of its own, with a gc.callbacks hook installed
first, and answers orders over pipes. The starter is the lab's own starter/service.py,
which lab.toml's ``[grader] include`` puts beside this file.
The checker sends warm-up orders, then a measured window of production-shaped orders,
timing every answer on its own side and sampling resident memory from /proc; then a
full collection shows what garbage was left behind, and unusual orders test pricing.

Trusted here: the expected prices (pricing.py), client-side latency, RSS. The runner's
GC counters come from inside the learner's process: they count only where the hook is
intact and agrees with gc.get_stats(), and each collector check also needs what the
checker measured itself to agree (the p99 for full collections; for cyclic garbage,
memory with automatic collection paused, while any collection the service runs itself
meanwhile must find next to nothing).

"The fix is in" means the p99 check passed: the answers are right, the catalog is held
(resident memory after start(), against the starter's in the same run) and the p99 is a
quarter of the starter's. Pricing, unusual orders and memory count only then, so the
unchanged starter, which already prices correctly and keeps memory flat, earns nothing.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import traffic
import verdicts
from downstack_harness import Grader, LearnerProcessError
from pricing import price
from session import ServiceProcess
from verdicts import Run

HERE = Path(__file__).resolve().parent
STARTER = HERE / "starter"

WARMUP_ORDERS = traffic.checkout_orders(1101, 200)
MEASURED_ORDERS = traffic.checkout_orders(2202, 1000)
PROBE_ORDERS = traffic.checkout_orders(4404, 800)
UNUSUAL_ORDERS = traffic.unusual_orders(3303)
RSS_SAMPLE_EVERY = 100

SERVICE_MEMORY_MB = 400
SERVICE_CPU_S = 40
START_TIMEOUT_S = 15.0
# Time allowed for the warm-up and measured orders together (the starter needs about
# 4 s of it), then for the probe and for the unusual orders; with START_TIMEOUT_S and the
# starter's own run this stays inside the lab's 60 s.
ORDERS_DEADLINE_S = 18.0
PROBE_DEADLINE_S = 4.0
UNUSUAL_DEADLINE_S = 4.0
REQUEST_TIMEOUT_S = 5.0
# The times above are floors. The learner's service may also take this many times as
# long as the starter took in the same run (for start(), and per order), so that a slow
# or busy machine, which slows the starter too, never turns into a verdict.
SLOWER_THAN_STARTER_ALLOWED = 3.0


def _ask(service: ServiceProcess, command: str) -> dict:
    text, _ = service.request(command, REQUEST_TIMEOUT_S)
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise LearnerProcessError(
            f"the runner's answer to {command} was unreadable ({text[:120]!r}); "
            "is something in service.py writing to standard output directly?"
        )
    return answer


def _judge(order: dict, text: str) -> str:
    """'' when the answer is the expected one, otherwise what differs, for the learner."""
    expected = price(order)
    try:
        got = json.loads(text)
    except json.JSONDecodeError:
        got = text
    if got == expected:
        return ""
    return (
        f"order {order['order']} ({len(order['items'])} lines, "
        f"coupon {order.get('coupon')}): expected {json.dumps(expected)}, "
        f"got {str(got)[:300]}"
    )


def _allowed_s(floor_s: float, starter_s: float) -> float:
    return max(floor_s, SLOWER_THAN_STARTER_ALLOWED * starter_s)


def _send(service: ServiceProcess, order: dict, deadline: float, run: Run) -> tuple[str, int]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise LearnerProcessError(
            f"answered only {run.answered} orders in the time allowed, at least "
            f"{SLOWER_THAN_STARTER_ALLOWED:g} times as long as the starter took in this run"
        )
    text, latency = service.request(json.dumps(order), min(REQUEST_TIMEOUT_S, remaining))
    run.answered += 1
    problem = _judge(order, text)
    if problem:
        run.wrong += 1
        run.first_wrong = run.first_wrong or problem
    return text, latency


def drive(
    g: Grader, source: Path, *, latency_only: bool = False, starter: Run | None = None
) -> Run:
    """Start the service in ``source`` through the harness, drive it, record what happened.

    ``latency_only`` stops after the measured window: all the starter's run is for.
    ``starter``, the starter's run, sets the time allowed beyond the floors.
    """
    run = Run()
    try:
        with ServiceProcess(g, source, memory_mb=SERVICE_MEMORY_MB, cpu_s=SERVICE_CPU_S) as service:
            _drive(service, run, latency_only=latency_only, pace=starter or Run())
    except LearnerProcessError as exc:
        run.error = f"Your service {exc}"
    except (TypeError, ValueError) as exc:
        run.error = f"The runner's statistics were unreadable: {exc}"
    return run


def _drive(service: ServiceProcess, run: Run, *, latency_only: bool, pace: Run) -> None:
    started = time.monotonic()
    run.rss_booted_kib, run.rss_ready_kib = service.wait_ready(
        _allowed_s(START_TIMEOUT_S, pace.start_s)
    )
    orders_started = time.monotonic()
    run.start_s = orders_started - started
    deadline = orders_started + _allowed_s(ORDERS_DEADLINE_S, pace.orders_s)
    for order in WARMUP_ORDERS:
        _send(service, order, deadline, run)
    run.stats_before = _ask(service, "!stats")
    run.rss_start_kib = peak = service.rss_kib()
    for number, order in enumerate(MEASURED_ORDERS, 1):
        _, latency = _send(service, order, deadline, run)
        run.latencies_ns.append(latency)
        if number % RSS_SAMPLE_EVERY == 0 and peak is not None:
            peak = max(peak, service.rss_kib() or 0)
    run.orders_s = time.monotonic() - orders_started
    run.stats_after = _ask(service, "!stats")
    if peak is not None:
        run.rss_peak_kib = max(peak, service.rss_kib() or 0)
    if latency_only:
        return
    run.unreachable_at_end = int(_ask(service, "!collect").get("unreachable", 0))
    # With automatic collection paused, whatever only the collector could free stays
    # in memory, where the checker sees it without trusting any counter.
    _ask(service, "!pause-collector")
    per_order_s = pace.orders_s / (len(WARMUP_ORDERS) + len(MEASURED_ORDERS))
    deadline += _allowed_s(PROBE_DEADLINE_S, per_order_s * len(PROBE_ORDERS))
    run.probe_rss_start_kib = peak = service.rss_kib()
    for number, order in enumerate(PROBE_ORDERS, 1):
        _send(service, order, deadline, run)
        run.probe_orders += 1
        if number % RSS_SAMPLE_EVERY == 0 and peak is not None:
            peak = max(peak, service.rss_kib() or 0)
    run.probe_rss_peak_kib = peak
    resumed = _ask(service, "!resume-collector")
    run.probe_collections = verdicts.count_field(resumed, "collections_while_paused")
    run.probe_collected = verdicts.count_field(resumed, "collected_while_paused")
    deadline = time.monotonic() + _allowed_s(UNUSUAL_DEADLINE_S, per_order_s * len(UNUSUAL_ORDERS))
    for order in UNUSUAL_ORDERS:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LearnerProcessError("took too long over the unusual orders")
        text, _ = service.request(json.dumps(order), min(REQUEST_TIMEOUT_S, remaining))
        problem = _judge(order, text)
        run.unusual_total += 1
        if problem:
            run.unusual_wrong += 1
            run.first_unusual_wrong = run.first_unusual_wrong or problem


def ms(ns: int) -> str:
    return f"{ns / 1e6:.3f} ms"


def check_diagnosis(g: Grader) -> None:
    raw = g.submission_file("diagnosis.txt")
    if raw is None:
        answer = verdicts.Diagnosis(None, "diagnosis.txt is missing.")
    else:
        answer = verdicts.read_diagnosis(raw.decode(errors="replace"))
    if answer.letter is None:
        output = answer.problem
    elif answer.letter == verdicts.DIAGNOSIS:
        output = f"You chose {answer.letter}."
    else:
        output = (
            f"You chose {answer.letter}. Compare it with what loadgen.py shows: which requests "
            "are slow, how many, and what the process was doing during exactly those requests."
        )
    g.check("diagnosis: what puts the p99 up", answer.letter == verdicts.DIAGNOSIS, output=output)


def check_correctness(g: Grader, run: Run, *, fixed: bool) -> None:
    name = "orders are priced exactly as before (counts once the p99 is fixed)"
    if run.error:
        g.check(name, False, max_score=1.5, output=run.error)
    else:
        output = f"All {run.answered} answers match the expected prices."
        if run.wrong:
            output = f"{run.wrong} of {run.answered} answers are wrong. First: {run.first_wrong}"
        elif not fixed:
            output += " " + NOT_FIXED
        g.check(name, run.correct and fixed, max_score=1.5, output=output)
    unusual_ok = run.error is None and run.unusual_total > 0 and run.unusual_wrong == 0
    output = run.first_unusual_wrong or run.error or f"All {run.unusual_total} answers match."
    if unusual_ok and not fixed:
        output += " " + NOT_FIXED
    g.check(
        "unusual orders (unknown SKUs, empty and huge carts) are priced exactly as before",
        unusual_ok and fixed,
        max_score=0.5,
        output=output,
        visibility="hidden",
    )


NOT_MEASURED = (
    "Not measured: the service has to answer every order correctly first (see the pricing check)."
)
NOT_FIXED = (
    "This counts once the p99 is fixed (see the p99 check): keeping what already worked "
    "is not yet a fix."
)


def check_latency(g: Grader, run: Run, starter: Run) -> bool:
    """The p99 check; whether it passed, which is what "the fix is in" means."""
    name = "p99 latency, timed by the checker, against the starter's in the same run"
    if not run.correct:
        g.check(name, False, max_score=2, output=NOT_MEASURED)
        return False
    if not verdicts.catalog_held(run, starter):
        output = (
            "Not measured: the contract keeps the whole catalog loaded from start-up, and "
            "your service does not hold it. start() added "
            f"{_mib(run.catalog_kib)} to the process's resident memory, the starter's "
            f"{_mib(starter.catalog_kib)} in this run; at least "
            f"{verdicts.CATALOG_FRACTION_OF_STARTER:g} x the starter's is expected. A "
            "service that builds products on demand makes every collection cheap without "
            "fixing anything."
        )
        return g.check(name, False, max_score=2, output=output)
    mine, theirs = run.p(99), starter.p(99)
    fraction = verdicts.P99_FRACTION_OF_STARTER
    passed = verdicts.p99_fast_enough(mine, theirs)
    output = (
        f"Over {len(run.latencies_ns)} orders: your p50 {ms(run.p(50))}, p99 {ms(mine)}, "
        f"max {ms(max(run.latencies_ns))}. The starter in this run: p50 {ms(starter.p(50))}, "
        f"p99 {ms(theirs)}. Needed: p99 at most "
        f"{fraction:g} x the starter's ({ms(int(theirs * fraction))})."
    )
    if not passed:
        output += (
            " When p50 is fine and p99 is not, a few requests pay for something big: find "
            "out what happens during exactly those requests."
        )
    return g.check(name, passed, max_score=2, output=output)


def _mib(kib: int | None) -> str:
    return "an unreadable amount" if kib is None else f"{kib / 1024:.1f} MiB"


def check_collector(g: Grader, run: Run, *, fixed: bool) -> None:
    full_name = "no full (generation 2) collections in steady state"
    cyclic_name = "no cyclic garbage per order"
    if not run.correct:
        g.check(full_name, False, max_score=1.5, output=NOT_MEASURED)
        g.check(cyclic_name, False, max_score=2, output=NOT_MEASURED)
        return
    assert run.stats_before is not None and run.stats_after is not None
    try:
        window = verdicts.gc_window(run.stats_before, run.stats_after)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        output = f"The collector's statistics were unreadable ({exc}); leave gc.get_stats alone."
        g.check(full_name, False, max_score=1.5, output=output)
        g.check(cyclic_name, False, max_score=2, output=output)
        return
    if not window.consistent:
        output = (
            "The collector's two sources disagree, so neither is believed: the checker's "
            f"gc.callbacks hook saw {window.full_callback} full collections and "
            f"{window.collected_callback} collected objects, gc.get_stats() says "
            f"{window.full_stats} and {window.collected_stats}"
            + (
                ""
                if window.hook_intact
                else ", and the hook was removed, displaced from the front of the "
                "collector's list or rewritten"
            )
            + ". Leave gc.callbacks and the collector's statistics alone."
        )
        g.check(full_name, False, max_score=1.5, output=output)
        g.check(cyclic_name, False, max_score=2, output=output)
        return
    orders = len(run.latencies_ns)
    full = window.full_collections
    passed = full <= verdicts.FULL_COLLECTIONS_ALLOWED
    output = (
        f"{full} full collections during {orders} measured orders "
        f"(at most {verdicts.FULL_COLLECTIONS_ALLOWED} expected)."
    )
    if not passed:
        output += (
            " A full collection examines every object the collector tracks, however old. "
            "loadgen.py --gc-log shows when each one runs and how long it takes."
        )
    elif not fixed:
        # The counters come from inside the learner's process; they are believed only
        # where the checker's own measurement agrees: the p99 check passed.
        passed = False
        output += (
            " But the p99 check did not pass: the checker's own timing shows pauses no "
            "collector-free service has, or the contract was not kept, so the count is not "
            "believed."
        )
    g.check(full_name, passed, max_score=1.5, output=output)

    per_order = verdicts.cyclic_garbage_per_request(window, run.unreachable_at_end, orders)
    probe = verdicts.probe_growth_kib(run)
    passed = per_order < verdicts.CYCLIC_GARBAGE_PER_REQUEST
    output = (
        f"{per_order:.1f} unreachable objects per order that only the cycle collector can "
        f"free ({window.collected} collected during the window, {run.unreachable_at_end} "
        f"still waiting at its end); a good result is below "
        f"{verdicts.CYCLIC_GARBAGE_PER_REQUEST:g}."
    )
    if probe is not None:
        output += (
            f" With automatic collection paused for {run.probe_orders} orders, resident "
            f"memory grew by {probe / 1024:.1f} MiB (at most "
            f"{verdicts.PROBE_GROWTH_KIB / 1024:g} MiB expected)."
        )
    if probe is None or probe > verdicts.PROBE_GROWTH_KIB:
        passed = False
    if run.probe_collections is None or run.probe_collected is None:
        passed = False
        output += " What ran while automatic collection was paused could not be read."
    elif run.probe_collected >= verdicts.CYCLIC_GARBAGE_PER_REQUEST * max(1, run.probe_orders):
        # Collections the service runs itself hide the growth from the checker's view of
        # memory; what they found is the garbage it would have seen.
        passed = False
        output += (
            f" While automatic collection was paused, your service ran "
            f"{run.probe_collections} collections itself, and they found "
            f"{run.probe_collected} unreachable objects."
        )
    if not passed:
        output += (
            " Reference counting frees an object the moment nothing points at it, unless "
            "it points back at itself through others: which objects of a request do?"
        )
    if not window.enabled:
        output += " (The collector was switched off at the end of the window.)"
    g.check(cyclic_name, passed, max_score=2, output=output)


def check_memory(g: Grader, run: Run, *, fixed: bool) -> None:
    name = "resident memory stays flat under load (counts once the p99 is fixed)"
    if not run.correct:
        g.check(name, False, max_score=1.5, output=NOT_MEASURED)
        return
    growth = verdicts.memory_growth_kib(run)
    if growth is None:
        g.check(name, False, max_score=1.5, output="Resident memory could not be read.")
        return
    passed = growth <= verdicts.MEMORY_GROWTH_KIB
    output = (
        f"Resident memory went from {run.rss_start_kib / 1024:.1f} MiB to a peak of "
        f"{run.rss_peak_kib / 1024:.1f} MiB over {len(run.latencies_ns)} orders: "
        f"{growth / 1024:+.1f} MiB (at most {verdicts.MEMORY_GROWTH_KIB / 1024:g} MiB "
        "expected)."
    )
    if not passed:
        output += " Garbage that nothing frees adds up, order after order."
    elif not fixed:
        output += " " + NOT_FIXED
    g.check(name, passed and fixed, max_score=1.5, output=output)


def main() -> None:
    g = Grader()
    check_diagnosis(g)
    starter = drive(g, STARTER, latency_only=True)
    if not starter.correct:
        # The starter is the checker's own code: this is a broken grader, not a learner bug.
        raise RuntimeError(f"the starter baseline failed: {starter.error or starter.first_wrong}")
    run = drive(g, g.submission_dir, starter=starter)
    ratio = f"{run.p(99) / starter.p(99):.4f}" if run.latencies_ns else "-"
    print(
        f"starter p50 {ms(starter.p(50))} p99 {ms(starter.p(99))} "
        f"orders {starter.orders_s:.2f} s; "
        f"learner p50 {ms(run.p(50)) if run.latencies_ns else '-'} "
        f"p99 {ms(run.p(99)) if run.latencies_ns else '-'} orders {run.orders_s:.2f} s; "
        f"p99 ratio {ratio}",
        file=sys.stderr,
    )
    fixed = check_latency(g, run, starter)
    check_correctness(g, run, fixed=fixed)
    check_collector(g, run, fixed=fixed)
    check_memory(g, run, fixed=fixed)
    g.emit()


if __name__ == "__main__":
    main()
