"""The inference fleet's day, replayed: a seeded request trace and the queueing model.

    python3 simulate.py --seed S                    writes trace.csv, your seed's day
    python3 simulate.py --seed S --plan plan.json   replays that day with a plan and
                                                    prints cost and p95 TTFT per hour

The checker grades plans with this very file: the same trace generator (on your seed
for the preview, on seeds only it knows for the rest), the same plan rules and the same
queueing model, so a plan replays here exactly as it is graded on your own day.

The model, in short (README.md has it in full). A replica is one GPU running the model
with `batch_size` slots. A request waits in one FIFO queue for a free slot of any ready
replica; its time to first token (TTFT) is that wait plus its prefill, which takes
PREFILL_OVERHEAD_S plus its input tokens at the row's prefill tokens/s; then it holds
its slot while it decodes its output tokens at the row's time per output token. The
row's speeds are for a replica running a full batch: a bigger batch decodes more
tokens per second in all but prefills each prompt more slowly. Each minute the fleet
is resized to the plan's replica count for that minute; a new replica is billed at
once and serves COLD_START_MIN minutes later (the model loading onto the GPU); a
replica that is scaled in stops being billed at once, finishes the requests already
on it and takes no new ones. The SLO: the day's p95 TTFT at most SLO_P95_MS and no
hour's above HOUR_CAP_P95_MS. Standard library only; Python 3.11.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import heapq
import json
import math
import random
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE / "benchmarks.csv"

HOURS = 24
MINUTES = HOURS * 60
WARMUP_MIN = 60  # the trace starts at 23:00 the evening before: not billed, not graded
SLO_P95_MS = 800  # the service-level objective: p95 TTFT of the day's requests
HOUR_CAP_P95_MS = 1200  # and no hour's p95 TTFT above this: the night counts too
COLD_START_MIN = 3  # minutes from a replica's start (and its bill) to its first request
MAX_REPLICAS = 64  # the GPU quota of the account, for any instance type
PREFILL_OVERHEAD_S = 0.025  # tokenising, scheduling and the first decode step
METRICS = ("requests_per_s", "in_flight", "queue_depth")
WINDOW_MINUTES = (1, 30)  # the autoscaler's scale-in window, window_s / 60
PLAN_EXAMPLE = (
    '{"instance": "A100-80GB", "batch_size": 16, "replicas_per_hour": [0, 0, ...24 whole '
    'numbers], "autoscaling": {"metric": "in_flight", "target_per_replica": 10, "min": 1, '
    '"max": 40, "window_s": 300}}'
)

# The shape of a day (every trace, yours and the checker's, is drawn from these ranges).
PEAK_REQUESTS_PER_S = (4.0, 5.0)
PEAK_HOUR = (11.5, 15.5)
PEAK_WIDTH_H = (3.0, 4.5)
NIGHT_SHARE = (0.22, 0.32)  # the night's rate as a share of the peak's
EVENING_SHARE = (0.0, 0.35)  # a second, smaller bump at about 21:00
NOISE_SIGMA = (0.04, 0.08)  # multiplicative, drifting
NOISE_MINUTES = 15
INPUT_MEDIAN = (1450, 1600)  # prompt tokens (retrieved context included)
OUTPUT_MEDIAN = (320, 380)  # generated tokens
INPUT_SIGMA, OUTPUT_SIGMA = 0.7, 0.55
INPUT_CAP, OUTPUT_CAP = 8192, 2048
QUANTILES = 4096


# -- the benchmark table -------------------------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    """One row of benchmarks.csv: one GPU type at one batch size."""

    instance: str
    batch_size: int
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    time_per_output_token_ms: float
    ttft_p50_ms: float
    ttft_p95_ms: float
    price_per_hour: float


def load_benchmarks(path: Path = BENCHMARKS) -> dict[tuple[str, int], Benchmark]:
    """The table by (instance, batch size), in the file's order."""
    table: dict[tuple[str, int], Benchmark] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            bench = Benchmark(
                instance=row["instance"],
                batch_size=int(row["batch_size"]),
                prefill_tokens_per_s=float(row["prefill_tokens_per_s"]),
                decode_tokens_per_s=float(row["decode_tokens_per_s"]),
                time_per_output_token_ms=float(row["time_per_output_token_ms"]),
                ttft_p50_ms=float(row["ttft_p50_ms"]),
                ttft_p95_ms=float(row["ttft_p95_ms"]),
                price_per_hour=float(row["price_per_hour"]),
            )
            table[(bench.instance, bench.batch_size)] = bench
    return table


# -- the trace -----------------------------------------------------------------------------


@dataclass
class Trace:
    """One day of requests, in arrival order."""

    seed: int
    arrivals: list[float]  # seconds since midnight; the warm-up hour's are negative
    input_tokens: list[int]
    output_tokens: list[int]
    # Made once per day and reused by every replay: arrivals by minute, and each
    # request's prefill and slot seconds by benchmark row.
    timings: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.arrivals)

    def arrived_by_minute(self) -> list[int]:
        """For each minute from the warm-up's first, the requests that came before it."""
        if "arrived" not in self.timings:
            self.timings["arrived"] = [
                bisect.bisect_left(self.arrivals, (minute - WARMUP_MIN) * 60.0)
                for minute in range(WARMUP_MIN + MINUTES + 1)
            ]
        return self.timings["arrived"]

    def times_on(self, bench: Benchmark) -> tuple[list[float], list[float]]:
        """(prefill seconds, slot seconds) of every request on a replica of `bench`."""
        key = (bench.instance, bench.batch_size)
        if key not in self.timings:
            rate = bench.prefill_tokens_per_s
            tpot = bench.time_per_output_token_ms / 1000
            prefill = [PREFILL_OVERHEAD_S + tokens / rate for tokens in self.input_tokens]
            service = [p + n * tpot for p, n in zip(prefill, self.output_tokens, strict=True)]
            self.timings[key] = (prefill, service)
        return self.timings[key]


def day_rates(rng: random.Random) -> list[float]:
    """Requests per second for each minute from 23:00 the evening before (the warm-up
    hour) to midnight: a diurnal curve, the same every day, with noise on top."""
    peak = rng.uniform(*PEAK_REQUESTS_PER_S)
    peak_hour = rng.uniform(*PEAK_HOUR)
    width = rng.uniform(*PEAK_WIDTH_H)
    night = peak * rng.uniform(*NIGHT_SHARE)
    evening = peak * rng.uniform(*EVENING_SHARE)
    sigma = rng.uniform(*NOISE_SIGMA)
    # Noise drifts: a random level every NOISE_MINUTES, joined by straight lines.
    noise = [
        math.exp(rng.gauss(0.0, sigma)) for _ in range((WARMUP_MIN + MINUTES) // NOISE_MINUTES + 1)
    ]

    def bump(hour: float, centre: float, spread: float) -> float:
        distance = abs(hour - centre) % 24
        distance = min(distance, 24 - distance)  # the day wraps round
        return math.exp(-((distance / spread) ** 2) / 2)

    rates = []
    for index in range(WARMUP_MIN + MINUTES):
        hour = (index - WARMUP_MIN) / 60
        rate = night + (peak - night) * bump(hour, peak_hour, width)
        block, into = divmod(index, NOISE_MINUTES)
        level = noise[block] + (noise[block + 1] - noise[block]) * into / NOISE_MINUTES
        rates.append((rate + evening * bump(hour, 21.0, 1.5)) * level)
    return rates


def _lognormal_quantiles(median: float, sigma: float, low: int, high: int) -> list[int]:
    """QUANTILES equally likely token counts of a lognormal: drawing one of them is the
    model's token length (a table keeps a day of draws fast in pure Python)."""
    normal = NormalDist()
    return [
        min(high, max(low, int(median * math.exp(sigma * normal.inv_cdf((k + 0.5) / QUANTILES)))))
        for k in range(QUANTILES)
    ]


def make_trace(seed: int) -> Trace:
    """The day of requests for `seed`: the same seed gives the same day, request by request."""
    rng = random.Random(f"inference-capacity:{seed}")
    rates = day_rates(rng)
    input_table = _lognormal_quantiles(rng.uniform(*INPUT_MEDIAN), INPUT_SIGMA, 16, INPUT_CAP)
    output_table = _lognormal_quantiles(rng.uniform(*OUTPUT_MEDIAN), OUTPUT_SIGMA, 1, OUTPUT_CAP)
    arrivals: list[float] = []
    inputs: list[int] = []
    outputs: list[int] = []
    expo, uniform = rng.expovariate, rng.random
    for index, rate in enumerate(rates):
        # Poisson arrivals at this minute's rate (memoryless, so restarting each minute
        # is exact for a rate that changes by the minute).
        start = (index - WARMUP_MIN) * 60.0
        end = start + 60.0
        t = start + expo(rate)
        while t < end:
            arrivals.append(t)
            inputs.append(input_table[int(uniform() * QUANTILES)])
            outputs.append(output_table[int(uniform() * QUANTILES)])
            t += expo(rate)
    return Trace(seed, arrivals, inputs, outputs)


def write_trace(trace: Trace, path: Path) -> None:
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["arrival_s", "input_tokens", "output_tokens"])
        for row in zip(trace.arrivals, trace.input_tokens, trace.output_tokens, strict=True):
            out.writerow([f"{row[0]:.3f}", row[1], row[2]])


# -- the plan ------------------------------------------------------------------------------


class PlanError(ValueError):
    """plan.json breaks a rule; the message says which and what is accepted."""


@dataclass(frozen=True)
class Autoscaling:
    metric: str
    target_per_replica: float
    min: int
    max: int
    window_s: int


@dataclass(frozen=True)
class Plan:
    instance: str
    batch_size: int
    replicas_per_hour: tuple[int, ...]
    autoscaling: Autoscaling | None


PLAN_KEYS = ("instance", "batch_size", "replicas_per_hour", "autoscaling")
RULE_KEYS = ("metric", "target_per_replica", "min", "max", "window_s")


def _whole(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 4.0 is a whole number too
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(f"{name} must be a whole number from {low} to {high}; read {value!r}.")
    if not low <= value <= high:
        raise PlanError(f"{name} must be from {low} to {high}; read {value}.")
    return value


def _keys(obj: dict, wanted: tuple[str, ...], where: str) -> None:
    missing = [key for key in wanted if key not in obj]
    unknown = [key for key in obj if key not in wanted]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"lacks {', '.join(missing)}")
        if unknown:
            parts.append(f"has keys it does not take: {', '.join(map(str, unknown))}")
        raise PlanError(f"{where} {' and '.join(parts)}; its keys are {', '.join(wanted)}.")


def parse_plan(data: bytes, table: dict[tuple[str, int], Benchmark]) -> Plan:
    """The plan in plan.json's bytes, or PlanError saying what is wrong with them."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PlanError(f"plan.json is not valid JSON ({error}). Expected {PLAN_EXAMPLE}") from None
    if not isinstance(raw, dict):
        raise PlanError(f"plan.json must be one JSON object, such as {PLAN_EXAMPLE}")
    _keys(raw, PLAN_KEYS, "plan.json")
    instances = list(dict.fromkeys(instance for instance, _ in table))
    by_name = {name.lower(): name for name in instances}
    name = raw["instance"]
    if not isinstance(name, str) or name.strip().lower() not in by_name:
        raise PlanError(
            f"instance must name exactly one GPU type of benchmarks.csv ({', '.join(instances)}); "
            f"read {json.dumps(name)}."
        )
    instance = by_name[name.strip().lower()]
    batches = [batch for gpu, batch in table if gpu == instance]
    batch = raw["batch_size"]
    if isinstance(batch, bool) or not isinstance(batch, int) or batch not in batches:
        raise PlanError(
            f"batch_size must be one of the batch sizes benchmarks.csv has for {instance} "
            f"({', '.join(map(str, batches))}); read {json.dumps(batch)}."
        )
    schedule = raw["replicas_per_hour"]
    if not isinstance(schedule, list) or len(schedule) != HOURS:
        raise PlanError(
            f"replicas_per_hour must be a list of {HOURS} whole numbers, one per hour from "
            f"00:00; read {json.dumps(schedule)[:80]}."
        )
    hours = tuple(
        _whole(count, f"replicas_per_hour[{hour}]", 0, MAX_REPLICAS)
        for hour, count in enumerate(schedule)
    )
    return Plan(instance, batch, hours, parse_rule(raw["autoscaling"]))


def parse_rule(rule: object) -> Autoscaling | None:
    if rule is None:
        return None
    if not isinstance(rule, dict):
        raise PlanError(f"autoscaling must be null or an object with {', '.join(RULE_KEYS)}.")
    _keys(rule, RULE_KEYS, "autoscaling")
    metric = rule["metric"]
    if metric not in METRICS:
        raise PlanError(
            f"autoscaling.metric must be one of {', '.join(METRICS)}; read {json.dumps(metric)}."
        )
    target = rule["target_per_replica"]
    if isinstance(target, bool) or not isinstance(target, int | float):
        raise PlanError(f"autoscaling.target_per_replica must be a number; read {target!r}.")
    if not (math.isfinite(target) and 0 < target <= 1000):
        raise PlanError(
            f"autoscaling.target_per_replica must be above 0 and at most 1000; read {target}."
        )
    low = _whole(rule["min"], "autoscaling.min", 0, MAX_REPLICAS)
    high = _whole(rule["max"], "autoscaling.max", 0, MAX_REPLICAS)
    if high < low:
        raise PlanError(f"autoscaling.max ({high}) must not be below autoscaling.min ({low}).")
    first, last = WINDOW_MINUTES
    window = _whole(rule["window_s"], "autoscaling.window_s", first * 60, last * 60)
    if window % 60:
        raise PlanError(
            f"autoscaling.window_s must be whole minutes (a multiple of 60); read {window}."
        )
    return Autoscaling(metric, float(target), low, high, window)


# -- the queueing model --------------------------------------------------------------------


@dataclass(frozen=True)
class Hour:
    """What one hour of a replay showed (requests by the hour they arrived in)."""

    hour: int
    requests: int
    p95_ttft_ms: float | None  # None: no requests that hour
    mean_replicas: float  # billed: starting or ready
    cost: float
    busy: float  # the share of ready slots' time spent on requests

    @property
    def within_cap(self) -> bool:
        return self.p95_ttft_ms is None or self.p95_ttft_ms <= HOUR_CAP_P95_MS


@dataclass(frozen=True)
class Replay:
    hours: list[Hour]
    p95_ttft_ms: float | None  # of all the requests reported
    cost: float
    replicas_by_minute: list[int]

    @property
    def hours_over_cap(self) -> list[int]:
        return [hour.hour for hour in self.hours if not hour.within_cap]

    @property
    def meets_slo(self) -> bool:
        day_ok = self.p95_ttft_ms is None or self.p95_ttft_ms <= SLO_P95_MS
        return day_ok and not self.hours_over_cap


def nearest_rank(values: list[float], pct: float) -> float:
    """The nearest-rank percentile: the ceil(pct/100 * n)-th smallest value."""
    return sorted(values)[max(1, math.ceil(pct / 100 * len(values))) - 1]


def day_p95(hours: list[list[float]]) -> float | None:
    """The nearest-rank p95 of all the values of `hours`, each list sorted.

    No hour has 95% of its values below the lowest hourly p95, so neither has the day:
    the day's p95 is among the values from there up, and only those need sorting.
    """
    count = sum(len(values) for values in hours)
    if not count:
        return None
    rank = math.ceil(0.95 * count)
    floor = min(values[math.ceil(0.95 * len(values)) - 1] for values in hours if values)
    above: list[float] = []
    for values in hours:
        above += values[bisect.bisect_left(values, floor) :]
    return sorted(above)[rank - (count - len(above)) - 1]


class Rule:
    """The plan's replica count for each minute: its schedule, raised by its autoscaler."""

    def __init__(self, plan: Plan, trace: Trace) -> None:
        self.schedule = plan.replicas_per_hour
        self.rule = plan.autoscaling
        # arrived[k]: requests that arrived before minute k - WARMUP_MIN began.
        self.arrived = trace.arrived_by_minute()
        self.recommended: list[int] = []

    def replicas(self, minute: int, in_flight: int, queued: int) -> int:
        """Minute `minute`'s replicas (negative in the warm-up hour), given the requests
        in flight (queued or being served) and queued as the minute begins."""
        scheduled = self.schedule[(minute // 60) % HOURS]
        rule = self.rule
        if rule is None:
            return scheduled
        if rule.metric == "requests_per_s":
            now = minute + WARMUP_MIN
            value = (self.arrived[now] - self.arrived[now - 1]) / 60 if now else 0.0
        else:
            value = in_flight if rule.metric == "in_flight" else queued
        wanted = math.ceil(value / rule.target_per_replica - 1e-9)
        if minute == -WARMUP_MIN:
            # The warm-up starts with the rule's largest fleet, warm, and leaves the rule
            # an hour to settle: midnight finds the fleet the rule itself chose.
            wanted = rule.max
        # Scale out at once; scale in only to the most the rule wanted over the window
        # (Kubernetes' scale-down stabilisation window).
        self.recommended.append(min(rule.max, max(rule.min, wanted)))
        recent = max(self.recommended[-(rule.window_s // 60) :])
        return min(MAX_REPLICAS, max(scheduled, recent))


def replay(trace: Trace, plan: Plan, table: dict[tuple[str, int], Benchmark]) -> Replay:
    """The day of `trace` served as `plan` says: per-hour cost, p95 TTFT and load."""
    bench = table[(plan.instance, plan.batch_size)]
    rule = Rule(plan, trace)
    watch = plan.autoscaling is not None and plan.autoscaling.metric == "in_flight"
    return serve(trace, bench, rule.replicas, -WARMUP_MIN, MINUTES, watch_in_flight=watch)


def serve(
    trace: Trace,
    bench: Benchmark,
    replicas: Callable[[int, int, int], int],
    first_minute: int,
    end_minute: int,
    *,
    watch_in_flight: bool = False,
) -> Replay:
    """Serve the requests that arrive from `first_minute` to `end_minute` with
    `replicas(minute, in_flight, queued)` replicas in each minute. The fleet of the first
    minute is warm; a first minute before midnight starts a warm-up, which is neither
    billed nor reported. `watch_in_flight` counts the requests in flight for `replicas`
    (else it is given 0: only the in_flight metric needs them)."""
    batch = bench.batch_size
    prefill, service = trace.times_on(bench)
    arrivals = trace.arrivals
    lo = bisect.bisect_left(arrivals, first_minute * 60.0)
    hi = bisect.bisect_left(arrivals, end_minute * 60.0)
    first_hour = max(0, first_minute) // 60
    n_hours = end_minute // 60 - first_hour
    # Request indices where each reported hour begins (requests come in arrival order).
    hour_starts = [
        bisect.bisect_left(arrivals, (first_hour + k) * 3600.0, lo, hi) for k in range(n_hours + 1)
    ]

    free: list[float] = []  # when each slot of a ready replica is next free (a heap)
    finishing: list[float] = []  # when each started, unfinished request ends (a heap)
    pending: deque[int] = deque()  # the minute each starting replica becomes ready
    ready = 0
    finished = 0
    billed: list[int] = []
    ready_by_minute: list[int] = []
    ttft: list[float] = []  # of every request from lo on, in arrival order
    minute = first_minute
    push, pop, replace = heapq.heappush, heapq.heappop, heapq.heapreplace

    def resize(started: int) -> None:
        """Apply this minute's resize; `started` requests (from lo) have started."""
        nonlocal ready, finished, minute
        now = minute * 60.0
        while pending and pending[0] <= minute:
            pending.popleft()
            ready += 1
            for _ in range(batch):
                push(free, now)
        while finishing and finishing[0] <= now:
            pop(finishing)
            finished += 1
        arrived = bisect.bisect_left(arrivals, now, lo, hi) - lo
        in_flight = arrived - finished if watch_in_flight else 0
        wanted = replicas(minute, in_flight, arrived - started)
        if minute == first_minute:
            ready = wanted  # the first minute's fleet is warm
            free.extend([now] * (batch * wanted))
        elif wanted > ready + len(pending):
            pending.extend([minute + COLD_START_MIN] * (wanted - ready - len(pending)))
        else:
            while pending and ready + len(pending) > wanted:
                pending.pop()  # the newest starting replicas go first
            while ready > wanted:
                ready -= 1
                for _ in range(batch):
                    pop(free)  # the idlest slots: work already on them still ends
        if minute >= 0:
            billed.append(ready + len(pending))
            ready_by_minute.append(ready)
        minute += 1

    boundary = minute * 60.0  # when the next resize is due
    never = math.inf
    for i in range(lo, hi):
        arrival = arrivals[i]
        head = free[0] if free else never
        start = head if head > arrival else arrival
        while start >= boundary and minute < end_minute:
            resize(i - lo)
            boundary = minute * 60.0 if minute < end_minute else never
            head = free[0] if free else never
            start = head if head > arrival else arrival
        if start == never:
            # No replica is left to serve the rest of the requests: they never start.
            ttft.extend([never] * (hi - i))
            break
        done = start + service[i]
        replace(free, done)
        if watch_in_flight:
            push(finishing, done)
        ttft.append(start - arrival + prefill[i])
    while minute < end_minute:
        resize(hi - lo)

    price_minute = bench.price_per_hour / 60
    hours = []
    ordered = []
    for k in range(n_hours):
        minutes = slice(k * 60, k * 60 + 60)
        ready_minutes = sum(ready_by_minute[minutes])
        first, end = hour_starts[k], hour_starts[k + 1]
        times = sorted(ttft[first - lo : end - lo])
        ordered.append(times)
        work = sum(service[first:end])
        hours.append(
            Hour(
                hour=first_hour + k,
                requests=len(times),
                p95_ttft_ms=times[math.ceil(0.95 * len(times)) - 1] * 1000 if times else None,
                mean_replicas=sum(billed[minutes]) / 60,
                cost=sum(billed[minutes]) * price_minute,
                busy=work / (ready_minutes * 60 * batch) if ready_minutes else 0.0,
            )
        )
    day = day_p95(ordered)
    return Replay(
        hours, None if day is None else day * 1000, sum(hour.cost for hour in hours), billed
    )


# -- the command line ----------------------------------------------------------------------


def report(served: Replay, plan: Plan) -> str:
    """The replay as a table: per hour, then the day against the SLO."""
    lines = [
        f"{plan.instance} at batch {plan.batch_size}. SLO: p95 TTFT of the day at most "
        f"{SLO_P95_MS} ms, and of every hour at most {HOUR_CAP_P95_MS} ms.",
        "hour   requests  replicas  cost($)  p95 TTFT(ms)  busy",
    ]
    for hour in served.hours:
        p95 = "-" if hour.p95_ttft_ms is None else f"{hour.p95_ttft_ms:.0f}"
        flag = "" if hour.within_cap else "  over the cap"
        lines.append(
            f"{hour.hour:02d}:00 {hour.requests:9d} {hour.mean_replicas:9.1f} {hour.cost:8.2f} "
            f"{p95:>13} {hour.busy:5.0%}{flag}"
        )
    day = "-" if served.p95_ttft_ms is None else f"{served.p95_ttft_ms:.0f} ms"
    verdict = "the SLO held" if served.meets_slo else "the SLO was MISSED"
    lines.append(f"day: ${served.cost:,.2f}, p95 TTFT {day}: {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True, help="your seed, from the lab page")
    parser.add_argument("--plan", type=Path, help="replay the day with this plan.json")
    parser.add_argument("--out", type=Path, default=Path("trace.csv"), help="where the trace goes")
    args = parser.parse_args(argv)
    trace = make_trace(args.seed)
    if args.plan is None:
        write_trace(trace, args.out)
        print(f"wrote {len(trace)} requests of seed {args.seed}'s day to {args.out}")
        return 0
    table = load_benchmarks()
    try:
        plan = parse_plan(args.plan.read_bytes(), table)
    except PlanError as error:
        print(f"{args.plan}: {error}", file=sys.stderr)
        return 2
    print(report(replay(trace, plan, table), plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
