"""Serves the learner's service.py over stdin/stdout, with the checker's GC instrumentation.

The checker starts this through the harness's ``Grader.start_learner``, under a uid of
its own (``python3 -I -c <this source>`` in a fresh copy of the service's folder), and
talks to it one line at a time:

- it answers ``BOOTED`` before service.py is imported and waits for ``!start``, so that
  the checker can read the bare interpreter's resident memory; then it imports the
  service, calls ``service.start()`` and answers ``READY``;
- a line starting with ``!`` is a command: ``!stats`` answers one JSON object with the
  collector's counters, ``!collect`` runs a full collection and answers how many
  unreachable objects it found; ``!pause-collector`` and ``!resume-collector`` switch
  automatic collection off and back to what it was, so that the checker can watch from
  outside what the service leaves for the collector, and ``!resume-collector`` says how
  many collections ran while it was off (the service's own, since nothing else can) and
  how many unreachable objects they found;
- any other line is an order: the answer is ``service.handle(line)``, or a JSON object
  with a ``runner_error`` key when handle() raised or returned something other than text.

Everything here runs inside the learner's process, so the learner's code could rewrite
whatever the runner looked up while it runs. Hence:

- every function and object the runner uses after the import (gc.collect, gc.get_stats,
  gc.disable, the gc.callbacks list, the hook and its class, the protocol's streams) is
  taken into main()'s local variables before service.py is imported, and nothing is
  looked up on a module afterwards; the answers to commands are formatted with
  f-strings, not with json, whose module the service could patch;
- the gc.callbacks hook is tamper-evident: ``!stats`` reports whether it is still first
  in the collector's own list (a callback before it could rewrite what it is told), still
  an instance of its class, and whether that class still has its own ``__call__``;
  the checker also compares its counts with gc.get_stats(), which the collector keeps in
  C and the service cannot lower;
- an audit hook, which cannot be removed, stops the service at once (exit code 70, with
  a message on stderr) if it uses ctypes, installs a trace or profile function, searches
  the heap (gc.get_objects, gc.get_referrers, gc.get_referents) or replaces a function's
  code: the ways pure Python has to rewrite main()'s locals or reach the audit hook.
The checker still treats what this reports as supporting evidence: what it awards
points on is confirmed by what it measures itself (latency, resident memory).
"""

import gc
import os
import sys
import time

TAMPERING_EXIT_CODE = 70


class Counters:
    """The gc.callbacks hook: what each collection reports, as it ends."""

    __slots__ = ("collections", "collected", "uncollectable", "pause_ns", "_started", "_clock")

    def __init__(self, clock):
        self.collections = [0, 0, 0]
        self.collected = 0
        self.uncollectable = 0
        self.pause_ns = 0
        self._started = 0
        self._clock = clock

    def __call__(self, phase, info):
        if phase == "start":
            self._started = self._clock()
            return
        self.collections[info["generation"]] += 1
        self.collected += info["collected"]
        self.uncollectable += info["uncollectable"]
        self.pause_ns += self._clock() - self._started


def audit_hook():
    """The audit hook that ends the process when the service reaches for the instruments.

    Everything it uses is bound here, now: the service cannot patch it later, and cannot
    reach the function or its closure without the heap searches it refuses."""
    write, exit_now = os.write, os._exit
    refused = {
        "sys.settrace": "installed a trace function",
        "sys.setprofile": "installed a profile function",
        "gc.get_objects": "searched the heap with gc.get_objects()",
        "gc.get_referrers": "searched the heap with gc.get_referrers()",
        "gc.get_referents": "searched the heap with gc.get_referents()",
    }.get

    exact = "".join  # "".join([name]) is an exact str even for a str subclass that lies

    def audit(event, args):
        what = refused(event)
        if what is None and event.startswith("ctypes."):
            what = "used ctypes"
        if what is None and event == "import":
            # _ctypes alone is enough to write anywhere in memory, without a ctypes.* event.
            name = exact([args[0]])
            if name in ("ctypes", "_ctypes") or name.startswith("ctypes."):
                what = "used ctypes"
        if what is None and event == "object.__setattr__" and args[1] == "__code__":
            what = "replaced a function's code"
        if what is not None:
            message = (
                f"\nThe checker stopped your service: it {what}, which can rewrite the "
                "checker's instruments. Leave the collector's instruments alone.\n"
            )
            write(2, message.encode())
            exit_now(TAMPERING_EXIT_CODE)

    return audit


def main():
    # Taken before the service is imported: what it patches later is not what runs here.
    collect, get_stats, isenabled = gc.collect, gc.get_stats, gc.isenabled
    disable, enable = gc.disable, gc.enable
    get_freeze_count = gc.get_freeze_count
    callbacks = gc.callbacks  # the list the collector itself calls, whatever gc.callbacks becomes
    hook_type, hook_call, type_of = Counters, Counters.__dict__["__call__"], type
    replace, stdin, text_type, count, total = str.replace, sys.stdin, str, len, sum
    counters = Counters(time.perf_counter_ns)
    callbacks.insert(0, counters)
    sys.addaudithook(audit_hook())
    # The protocol owns the real stdout; whatever the service prints, from Python or
    # straight to file descriptor 1, goes to stderr.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path.append(os.getcwd())  # after the standard library: nothing can shadow it

    answers.write("BOOTED\n")
    if stdin.readline() != "!start\n":
        return
    import service

    service.start()
    answers.write("READY\n")
    paused_from = False
    when_paused = get_stats()
    for line in stdin:
        line = line.rstrip("\n")
        if line == "!stats":
            # Both sources are read with automatic collection paused, so that no
            # collection can run between reading one and the other.
            enabled = isenabled()
            disable()
            try:
                intact = (
                    count(callbacks) > 0
                    and callbacks[0] is counters
                    and type_of(counters) is hook_type
                    and hook_type.__dict__.get("__call__") is hook_call
                )
                generations = get_stats()
                young, middle, old = counters.collections
                hook = (
                    f'{{"intact": {"true" if intact else "false"}, '
                    f'"collections": [{young:d}, {middle:d}, {old:d}], '
                    f'"collected": {counters.collected:d}}}'
                )
            finally:
                if enabled:
                    enable()
            by_generation = ", ".join(
                [
                    f'{{"collections": {gen["collections"]:d}, "collected": {gen["collected"]:d}}}'
                    for gen in generations
                ]
            )
            answer = (
                f'{{"hook": {hook}, "get_stats": [{by_generation}], '
                f'"enabled": {"true" if enabled else "false"}, "frozen": {get_freeze_count():d}}}'
            )
        elif line == "!collect":
            answer = f'{{"unreachable": {collect():d}}}'
        elif line == "!pause-collector":
            paused_from = isenabled()
            disable()
            when_paused = get_stats()
            answer = f'{{"was_enabled": {"true" if paused_from else "false"}}}'
        elif line == "!resume-collector":
            now = get_stats()
            ran = total(
                [now[gen]["collections"] - when_paused[gen]["collections"] for gen in (0, 1, 2)]
            )
            found = total(
                [now[gen]["collected"] - when_paused[gen]["collected"] for gen in (0, 1, 2)]
            )
            if paused_from:
                enable()
            answer = (
                f'{{"enabled": {"true" if isenabled() else "false"}, '
                f'"collections_while_paused": {ran:d}, "collected_while_paused": {found:d}}}'
            )
        else:
            # Whatever the learner's code raises is an answer to report, not a runner crash.
            try:
                answer = service.handle(line)
            except Exception as exc:  # noqa: BLE001
                error = _quoted(f"{type_of(exc).__name__}: {exc}")
                answer = f'{{"runner_error": "{error}"}}'
            if type_of(answer) is not text_type:
                # A str subclass could rewrite its own replace() and inject lines.
                kind = _quoted(type_of(answer).__name__)
                answer = f'{{"runner_error": "handle() returned {kind}, not str"}}'
        answers.write(replace(answer, "\n", " ") + "\n")


def _quoted(text):
    """``text`` as the content of a JSON string, cut to 300 characters."""
    return text[:300].replace("\\", "\\\\").replace('"', '\\"')


main()
