"""Serves the learner's service.py over stdin/stdout and counts the calls it makes.

The checker starts this through the harness's ``Grader.start_learner`` (``python3 -s -c
<this source> MODE``, isolated, in a fresh copy of the service's folder) and talks to it
one line at a time. It answers ``READY`` once service.py is imported; then every line is
``LIMIT ORDER_JSON`` and is answered with one line:

- ``ANSWER CALLS INVOICE``: ``service.handle(order)`` returned ``INVOICE`` after
  ``CALLS`` calls;
- ``ERROR CALLS MESSAGE``: handle() raised, or returned something other than text;
- ``OVER``: handle() made more than ``LIMIT`` calls; the runner exits at once, so that an
  order far costlier than the reference's costs the checker no more than the limit;
- ``TAMPERED MESSAGE``: the profile function is no longer the runner's; it exits.

In ``count`` mode a ``sys.setprofile`` function counts every "call" event (a Python
function or method starts, generators resuming included) and every "c_call" event (a
built-in function is called) while handle() runs: the same count as bench.py's, and
deterministic for the same code and order. In ``time`` mode nothing is counted (the
checker reads the process's CPU time from /proc instead) and LIMIT is ignored.

Everything here runs inside the learner's process, so its code could rewrite what the
runner looks up. Hence the profile function is installed before service.py is imported,
and everything the runner uses afterwards is bound to main()'s locals first; an audit
hook, which cannot be removed, stops the service (exit code 70, a message on stderr) if
it installs a profile or trace function, uses ctypes, searches the heap or replaces a
function's code; and after every order the runner checks that its profile function is
still the one installed. What the counter says is still supporting evidence only: the
checker believes it only where the CPU time it measures itself agrees.
"""

import os
import sys

TAMPERING_EXIT_CODE = 70


def audit_hook():
    """The audit hook that ends the process when the service reaches for the instruments."""
    write, exit_now = os.write, os._exit
    refused = {
        "sys.settrace": "installed a trace function",
        "sys.setprofile": "installed or removed a profile function",
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
            name = exact([args[0]])
            if name in ("ctypes", "_ctypes") or name.startswith("ctypes."):
                what = "used ctypes"
        if what is None and event == "object.__setattr__" and args[1] == "__code__":
            what = "replaced a function's code"
        if what is not None:
            message = (
                f"\nThe checker stopped your service: it {what}, which can rewrite the "
                "checker's call counter. Leave the profiler alone.\n"
            )
            write(2, message.encode())
            exit_now(TAMPERING_EXIT_CODE)

    return audit


def counter(tally, limit, write, fd, exit_now):
    """The profile function: counts calls into ``tally[0]``, stops past ``limit[0]``."""

    def count(frame, event, arg):
        if event == "call" or event == "c_call":
            tally[0] += 1
            if tally[0] > limit[0]:
                write(fd, b"OVER\n")
                exit_now(0)

    return count


def main():
    mode = sys.argv[1]
    write, exit_now, getprofile = os.write, os._exit, sys.getprofile
    stdin, text_type, type_of, integer, is_a = sys.stdin, str, type, int, isinstance
    replace, split = str.replace, str.split
    # The protocol owns the real stdout; whatever the service prints goes to stderr.
    answers = os.dup(1)
    os.dup2(2, 1)
    tally, limit = [0], [0]
    hook = None
    if mode == "count":
        limit[0] = 1 << 62
        hook = counter(tally, limit, write, answers, exit_now)
        sys.setprofile(hook)
    sys.addaudithook(audit_hook())
    # The service's folder goes after the standard library, so nothing can shadow it.
    here = os.getcwd()
    sys.path[:] = [*(entry for entry in sys.path if entry not in ("", here)), here]
    import service

    handle = service.handle
    write(answers, b"READY\n")
    for line in stdin:
        budget, text = split(line, " ", 1)
        start = tally[0]
        limit[0] = start + integer(budget) if hook else 1 << 62
        try:
            answer = handle(text)
        except Exception as exc:  # noqa: BLE001 - whatever it raises is its answer
            answer = exc
        used = tally[0] - start
        limit[0] = 1 << 62  # the runner's own calls until the next order are not its
        if getprofile() is not hook:
            write(answers, b"TAMPERED the runner's profile function was replaced\n")
            exit_now(TAMPERING_EXIT_CODE)
        if type_of(answer) is text_type:
            reply = f"ANSWER {used:d} {replace(answer, chr(10), ' ')}\n"
        elif is_a(answer, Exception):
            problem = f"{type_of(answer).__name__}: {answer}"[:300]
            reply = f"ERROR {used:d} handle() raised {replace(problem, chr(10), ' ')}\n"
        else:
            reply = f"ERROR {used:d} handle() returned {type_of(answer).__name__}, not str\n"
        data = reply.encode()
        while data:
            data = data[write(answers, data) :]


main()
