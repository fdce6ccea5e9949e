"""Seeded access-log generators for the checker; the same seed always gives the same log."""

import random

PATHS = ["/checkout", "/cart", "/api/items?id={n}", "/search?q=disk", "/healthz", "/login"]
TRICKY_REQUESTS = [
    "-",
    "GET /search?q=disk full HTTP/1.1",
    'GET /say?m=\\"hi\\" HTTP/1.1',
    "POST /upload big file.bin HTTP/1.0",
    "\\x16\\x03\\x01",
]
GARBAGE = [
    "this is not a log line",
    '203.0.113.9 - - [03/Nov/2026:10:15:02 +0000] "GET / HTTP/1.1" 200 512',
    '203.0.113.9 - - [03/Nov/2026:10:15:02 +0000] "GET / HTTP/1.1" OK 512 0.010',
    '203.0.113.9 - - 03/Nov/2026:10:15:02 "GET / HTTP/1.1" 200 512 0.010',
    '203.0.113.9 - - [03/Nov/2026:10:15:02 +0000] "GET / HTTP/1.1 200 512 0.010',
]


def line(rng: random.Random, request: str | None = None) -> str:
    client = f"198.51.100.{rng.randrange(1, 255)}"
    second = rng.randrange(0, 60)
    if request is None:
        path = rng.choice(PATHS).format(n=rng.randrange(1000))
        request = f"{rng.choice(['GET', 'GET', 'GET', 'POST'])} {path} HTTP/1.1"
    status = rng.choices(
        ["200", "201", "304", "404", "499", "502", "503"], weights=[70, 5, 5, 6, 4, 4, 6]
    )[0]
    size = "-" if status == "304" and rng.random() < 0.5 else str(rng.randrange(0, 40000))
    # A long tail: most requests are quick, a few are very slow.
    millis = rng.lognormvariate(2.5, 0.6) if rng.random() < 0.97 else rng.uniform(300, 2500)
    return (
        f'{client} - - [03/Nov/2026:10:15:{second:02d} +0000] "{request}" '
        f"{status} {size} {millis / 1000:.3f}"
    )


def generated(seed: int, count: int, *, tricky: float = 0.0, garbage: float = 0.0) -> str:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        roll = rng.random()
        if roll < garbage:
            lines.append(rng.choice(GARBAGE))
        elif roll < garbage + tricky:
            lines.append(line(rng, rng.choice(TRICKY_REQUESTS)))
        else:
            lines.append(line(rng))
    return "\n".join(lines) + "\n"


def distinct_latencies(seed: int, count: int) -> str:
    """Clean lines whose latencies are all different, so every rank gives another value."""
    rng = random.Random(seed)
    millis = rng.sample(range(1, 20 * count), count)
    lines = [line(rng).rsplit(" ", 1)[0] + f" {m / 1000:.3f}" for m in millis]
    return "\n".join(lines) + "\n"
