"""Load generator for the checkout service: replays orders, prints latency and GC activity.

    python3 loadgen.py                  # 3,000 orders after 300 warm-up orders
    python3 loadgen.py --requests 10000 --gc-log

It imports service.py from this folder, calls start() once, sends warm-up orders, then
times every handle() call of the measured run and prints a latency histogram with
p50/p90/p99/max. A gc.callbacks hook, installed before service.py is imported, counts
the collections of each generation during the measured run, how long they took and how
many unreachable objects they found; --gc-log prints every collection as it ends.
"""

import argparse
import gc
import json
import math
import random
import sys
import time
from pathlib import Path

BUCKETS_MS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250)
BAR_WIDTH = 40


class GcWatch:
    """Counts collections per generation, their pause time and what they collected."""

    def __init__(self, log=False):
        self.log = log
        self.reset()
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def reset(self):
        self.collections = [0, 0, 0]
        self.pause_s = [0.0, 0.0, 0.0]
        self.collected = 0
        self.longest_s = 0.0

    def stop(self):
        gc.callbacks.remove(self._callback)

    def _callback(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        pause = time.perf_counter() - self._started
        self.collections[generation] += 1
        self.pause_s[generation] += pause
        self.collected += info["collected"]
        self.longest_s = max(self.longest_s, pause)
        if self.log:
            print(
                f"  gc: generation {generation}, {pause * 1000:7.2f} ms, "
                f"{info['collected']} unreachable objects collected",
                file=sys.stderr,
            )


def orders(seed, count):
    """A seeded stream of order requests shaped like production checkout traffic."""
    rng = random.Random(seed)
    coupons = ["SPRING10", "WELCOME5", "STAFF25"]
    for number in range(count):
        items = [
            [f"SKU-{rng.randrange(200_000):06d}", rng.randint(1, 5)]
            for _ in range(rng.randint(10, 30))
        ]
        order = {"order": f"o-{seed}-{number}", "customer": f"c-{rng.randrange(2000)}"}
        order["items"] = items
        if rng.random() < 0.3:
            order["coupon"] = rng.choice(coupons)
        yield json.dumps(order)


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[max(1, math.ceil(p / 100 * len(sorted_values))) - 1]


def rss_kib():
    """Resident memory of this process in KiB, or None where it cannot be read."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def histogram(latencies_ms):
    lines = []
    counts = [0] * (len(BUCKETS_MS) + 1)
    for value in latencies_ms:
        index = next((i for i, edge in enumerate(BUCKETS_MS) if value < edge), len(BUCKETS_MS))
        counts[index] += 1
    peak = max(counts)
    for index, count in enumerate(counts):
        if index < len(BUCKETS_MS):
            label = f"< {BUCKETS_MS[index]:g} ms"
        else:
            label = f">= {BUCKETS_MS[-1]:g} ms"
        bar = "#" * math.ceil(BAR_WIDTH * count / peak) if count else ""
        lines.append(f"  {label:>12} {count:6d} {bar}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="measured orders")
    parser.add_argument("--warmup", type=int, default=300, help="orders before measuring")
    parser.add_argument("--seed", type=int, default=1, help="seed of the order stream")
    parser.add_argument("--gc-log", action="store_true", help="print every collection")
    args = parser.parse_args()

    watch = GcWatch()  # before the import: start-up collections count too
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import service

    began = time.perf_counter()
    service.start()
    print(f"start(): {time.perf_counter() - began:.2f} s, RSS {rss_kib()} KiB")
    stream = orders(args.seed, args.warmup + args.requests)
    for _ in range(args.warmup):
        service.handle(next(stream))

    watch.reset()
    watch.log = args.gc_log
    rss_before = rss_kib()
    latencies_ms = []
    began = time.perf_counter()
    for request in stream:
        sent = time.perf_counter()
        service.handle(request)
        latencies_ms.append((time.perf_counter() - sent) * 1000)
    elapsed = time.perf_counter() - began
    watch.stop()
    rss_after = rss_kib()

    ordered = sorted(latencies_ms)
    count = len(ordered)
    print(f"\n{count} orders in {elapsed:.2f} s ({count / elapsed:,.0f} orders/s)")
    print(histogram(ordered))
    p50, p90, p99 = (percentile(ordered, p) for p in (50, 90, 99))
    print(f"  p50 {p50:.3f} ms   p90 {p90:.3f} ms   p99 {p99:.3f} ms   max {ordered[-1]:.3f} ms")
    print("\ngarbage collector during the measured run:")
    for generation in range(3):
        print(
            f"  generation {generation}: {watch.collections[generation]:5d} collections, "
            f"{watch.pause_s[generation] * 1000:9.1f} ms in total"
        )
    print(f"  longest pause {watch.longest_s * 1000:.1f} ms")
    print(f"  unreachable objects collected per order: {watch.collected / count:.1f}")
    print(f"  tracked objects now: {len(gc.get_objects()):,}   frozen: {gc.get_freeze_count():,}")
    if rss_before is not None and rss_after is not None:
        print(f"  RSS {rss_before:,} KiB -> {rss_after:,} KiB")


if __name__ == "__main__":
    main()
