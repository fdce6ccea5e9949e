"""Runs cache.py's calls as threads for the scheduler: one question in, one answer out.

The scheduler asks, one JSON line on standard input, what a thread does next:

    {"calls": [["get", "kettle"], ["update", "kettle", 420]], "results": [null, 349, null]}

`calls` is the thread's work, in order; `results` is what each operation it has yielded
so far got back. This program replays those calls from the start, sends them those
results, and answers with one JSON line:

    {"returned": [349], "op": ["db.write", "kettle", 420]}

`returned` is what the calls that ended after the last result returned, and `op` is the
next operation the thread yields (null once every call has returned). When cache.py
raises, the answer is {"error": "..."}. The scheduler asks each question once and
remembers the answer, so a thread behaves as a function of what it has seen: exactly
the assumption that lets a schedule replay the same run.

    python3 threads.py               # the cache.py beside this file
    python3 threads.py other.py      # another implementation of the same three calls
"""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
from pathlib import Path


def next_step(module, calls: list, results: list) -> tuple[list, list | None]:
    """(what the calls returned after the last result, the next operation or None)."""
    pending = list(results)
    returned: list = []
    for name, *args in calls:
        thread = getattr(module, name)(*args)
        reply = None
        try:
            while True:
                op = thread.send(reply)
                if not pending:
                    return returned, op
                reply = pending.pop(0)
                returned = []  # what ended before this result was in an earlier answer
        except StopIteration as end:
            returned.append(end.value)
    return returned, None


def answer(module, question: dict) -> dict:
    try:
        returned, op = next_step(module, question["calls"], question["results"])
    except Exception as error:  # noqa: BLE001 - cache.py failing is the answer
        where = traceback.extract_tb(error.__traceback__)[-1]
        text = f"{type(error).__name__}: {error} ({Path(where.filename).name} line {where.lineno})"
        return {"error": text}
    reply = {"returned": returned, "op": op}
    try:
        json.dumps(reply)
    except (TypeError, ValueError):
        return {"error": f"yielded or returned something that is not JSON: {op!r}"[:300]}
    return reply


def load(path: Path):
    spec = importlib.util.spec_from_file_location("cache", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("cache.py")
    # Standard output carries the answers; whatever cache.py prints goes to stderr.
    answers, sys.stdout = sys.stdout, sys.stderr
    module = load(path)
    for line in sys.stdin:
        reply = answer(module, json.loads(line))
        answers.write(json.dumps(reply) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
