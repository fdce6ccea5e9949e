"""Serves the learner's service.py over stdin/stdout, with the checker's GC instrumentation.

The checker starts this through the harness's ``Grader.start_learner``, under a uid of
its own (``python3 -I -c <this source>`` in a fresh copy of the service's folder), and
talks to it one line at a time:

- it answers ``READY`` once ``service.start()`` has returned;
- a line starting with ``!`` is a command: ``!stats`` answers one JSON object with the
  collector's counters, ``!collect`` runs a full collection and answers how many
  unreachable objects it found; ``!pause-collector`` and ``!resume-collector`` switch
  automatic collection off and back to what it was, so that the checker can watch from
  outside what the service leaves for the collector;
- any other line is an order: the answer is ``service.handle(line)``, or a JSON object
  with a ``runner_error`` key when handle() raised or returned something other than text.

The gc.callbacks hook goes in before service.py is imported, so nothing the module does
at import time escapes it. It runs inside the learner's process all the same: the checker
treats what it reports as supporting evidence and cross-checks it with gc.get_stats().
"""

import gc
import json
import os
import sys
import time


class Counters:
    def __init__(self):
        self.collections = [0, 0, 0]
        self.collected = 0
        self.uncollectable = 0
        self.pause_ns = 0
        self._started = 0

    def __call__(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter_ns()
            return
        self.collections[info["generation"]] += 1
        self.collected += info["collected"]
        self.uncollectable += info["uncollectable"]
        self.pause_ns += time.perf_counter_ns() - self._started


def stats(counters):
    # Both sources are read with automatic collection paused, so that no collection can
    # run between reading one and the other and make them disagree.
    enabled = gc.isenabled()
    gc.disable()
    try:
        snapshot = {
            "callback": {
                "installed": counters in gc.callbacks,
                "collections": list(counters.collections),
                "collected": counters.collected,
                "uncollectable": counters.uncollectable,
                "pause_ns": counters.pause_ns,
            },
            "get_stats": gc.get_stats(),
            "enabled": enabled,
            "threshold": list(gc.get_threshold()),
            "frozen": gc.get_freeze_count(),
        }
    finally:
        if enabled:
            gc.enable()
    return snapshot


def main():
    counters = Counters()
    gc.callbacks.append(counters)
    # The protocol owns the real stdout; whatever the service prints, from Python or
    # straight to file descriptor 1, goes to stderr.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path.append(os.getcwd())  # after the standard library: nothing can shadow it

    import service

    service.start()
    answers.write("READY\n")
    paused_from = False
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line == "!stats":
            answer = json.dumps(stats(counters))
        elif line == "!collect":
            answer = json.dumps({"unreachable": gc.collect()})
        elif line == "!pause-collector":
            paused_from = gc.isenabled()
            gc.disable()
            answer = json.dumps({"was_enabled": paused_from})
        elif line == "!resume-collector":
            if paused_from:
                gc.enable()
            answer = json.dumps({"enabled": gc.isenabled()})
        else:
            # Whatever the learner's code raises is an answer to report, not a runner crash.
            try:
                answer = service.handle(line)
            except Exception as exc:  # noqa: BLE001
                answer = json.dumps({"runner_error": f"{type(exc).__name__}: {exc}"[:300]})
            if not isinstance(answer, str):
                kind = type(answer).__name__
                answer = json.dumps({"runner_error": f"handle() returned {kind}, not str"})
        answers.write(answer.replace("\n", " ") + "\n")


main()
