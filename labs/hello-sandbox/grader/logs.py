"""Access-log generators for the checker; the same random generator state gives the same log.

Every log is built from three kinds of line: well-formed lines with ordinary request
lines, unusual well-formed lines (request lines with spaces, escaped quotes, '-', other
methods and versions, text that looks like the end of a line; a time taken in whole
seconds), and malformed lines of every shape the README calls malformed. Blank lines
(empty or spaces and tabs only) may be mixed in. Each builder puts at least one line of
every kind it is asked for into the log whenever the count allows, so a log tests each
rule rather than a lucky draw of them.
"""

import random

PATHS = ["/checkout", "/cart", "/api/items?id={n}", "/search?q=disk", "/healthz", "/login"]
WORDS = ["disk", "full", "big", "file.bin", "a", "b", "x=1", "report", "2026", "q"]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]
VERSIONS = ["HTTP/1.0", "HTTP/1.1", "HTTP/2.0"]
STATUSES = ["200", "201", "304", "404", "499", "502", "503"]
STATUS_WEIGHTS = [70, 5, 5, 6, 4, 4, 6]


def _path(rng: random.Random) -> str:
    return rng.choice(PATHS).format(n=rng.randrange(1000))


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _hex_junk(rng: random.Random) -> str:
    return "".join(f"\\x{rng.randrange(256):02X}" for _ in range(rng.randint(1, 6)))


# Unusual but well-formed request lines, as the log writes them (quotes escaped as \").
# Each is a function of the generator so that every log gets its own.
TRICKY_REQUESTS = {
    "dash": lambda rng: "-",
    "spaces": lambda rng: f"GET /search?q={_words(rng, 2, 4)} HTTP/1.1",
    "double space": lambda rng: f"POST /upload  {_words(rng, 1, 2)}  HTTP/1.0",
    "escaped quotes": lambda rng: f'GET /say?m=\\"{_words(rng, 1, 3)}\\" HTTP/1.1',
    "looks like a line end": lambda rng: (
        f'GET /q?x=\\" {rng.choice(STATUSES)} {rng.randrange(99)} 0.{rng.randrange(999):03d} '
        f"{rng.choice(VERSIONS)}"
    ),
    "brackets": lambda rng: f'GET /a[{rng.randrange(9)}] \\"{_words(rng, 1, 2)}\\" HTTP/1.1',
    "other method": lambda rng: f"{rng.choice(METHODS[2:])} {_path(rng)} {rng.choice(VERSIONS)}",
    "no version": lambda rng: f"GET {_path(rng)}",
    "binary": lambda rng: _hex_junk(rng),
}

# Unusual well-formed lines: the request kinds above, and a time taken in whole seconds.
TRICKY_KINDS = {
    **{
        name: (lambda rng, make=make: line(rng, make(rng)))
        for name, make in TRICKY_REQUESTS.items()
    },
    "whole seconds": lambda rng: line(rng).rsplit(" ", 1)[0] + f" {rng.randint(1, 3)}",
}

# Lines that do not have the README's shape. Each must be malformed for the reference.
MALFORMED_KINDS = {
    "text": lambda rng: f"upstream timed out while reading {_words(rng, 1, 3)}",
    "no time taken": lambda rng: _line_fields(rng, last=None),
    "word status": lambda rng: _line_fields(rng, status=rng.choice(["OK", "ERR", "-"])),
    "four-digit status": lambda rng: _line_fields(rng, status=str(rng.randrange(1000, 10000))),
    "time not in brackets": lambda rng: _line_fields(rng, brackets=False),
    "unclosed quote": lambda rng: _line_fields(rng, close_quote=False),
    "extra field": lambda rng: _line_fields(rng, last=f"0.0{rng.randrange(10, 99)} extra"),
    "time with unit": lambda rng: _line_fields(rng, last=f"0.0{rng.randrange(10, 99)}s"),
    "size not a number": lambda rng: _line_fields(rng, size=rng.choice(["512B", "n/a", "1.5"])),
    "two spaces": lambda rng: _line_fields(rng).replace('" 200 ', '"  200 '),
    "a dash missing": lambda rng: _line_fields(rng).replace(" - - [", " - [", 1),
    "cut short": lambda rng: _line_fields(rng)[: rng.randrange(20, 45)],
}

BLANK_LINES = ["", " ", "\t", "   "]


def _line_fields(
    rng: random.Random,
    *,
    status: str = "200",
    size: str = "512",
    last: str | None = "0.010",
    brackets: bool = True,
    close_quote: bool = True,
) -> str:
    client = f"203.0.113.{rng.randrange(1, 255)}"
    when = f"03/Nov/2026:10:15:{rng.randrange(60):02d} +0000"
    when = f"[{when}]" if brackets else when.split(" ")[0]
    quote = '"' if close_quote else ""
    tail = f" {last}" if last is not None else ""
    return f'{client} - - {when} "GET {_path(rng)} HTTP/1.1{quote} {status} {size}{tail}'


def line(rng: random.Random, request: str | None = None, millis: float | None = None) -> str:
    """One well-formed line; an ordinary request line unless one is given."""
    client = f"198.51.100.{rng.randrange(1, 255)}"
    second = rng.randrange(0, 60)
    if request is None:
        request = f"{rng.choice(['GET', 'GET', 'GET', 'POST'])} {_path(rng)} HTTP/1.1"
    status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
    size = "-" if status == "304" and rng.random() < 0.5 else str(rng.randrange(0, 40000))
    if millis is None:
        # A long tail: most requests are quick, a few are very slow.
        millis = rng.lognormvariate(2.5, 0.6) if rng.random() < 0.97 else rng.uniform(300, 2500)
    return (
        f'{client} - - [03/Nov/2026:10:15:{second:02d} +0000] "{request}" '
        f"{status} {size} {millis / 1000:.3f}"
    )


def _every_kind(rng: random.Random, kinds: dict, count: int) -> list[str]:
    """`count` lines: each kind once (as far as the count allows), then kinds at random."""
    names = list(kinds)
    chosen = names[:count] + [rng.choice(names) for _ in range(count - len(names))]
    return [kinds[name](rng) for name in chosen]


def build(
    rng: random.Random, *, clean: int, tricky: int = 0, malformed: int = 0, blank: int = 0
) -> str:
    """A log of exactly these many lines of each kind, in a shuffled order."""
    lines = [line(rng) for _ in range(clean)]
    lines += _every_kind(rng, TRICKY_KINDS, tricky)
    lines += _every_kind(rng, MALFORMED_KINDS, malformed)
    lines += [BLANK_LINES[k % len(BLANK_LINES)] for k in range(blank)]
    rng.shuffle(lines)
    return "".join(text + "\n" for text in lines)


def distinct_latencies(rng: random.Random, count: int) -> str:
    """Clean lines whose latencies are all different, so every rank gives another value."""
    millis = rng.sample(range(1, 20 * count), count)
    return "".join(line(rng, millis=m) + "\n" for m in millis)
