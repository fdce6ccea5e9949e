"""What learner code tries when a Gradescope autograder runs it, as root or not: it
prints one line per attempt, saying what happened (tests/abuse/test_gradescope_abuse.py)."""

import os
import signal
import socket
import sys

WHO = sys.argv[1]
FORGED = b'DOWNSTACK-ENVELOPE 40\n{"checker_exit": 0, "results": "{}"}    '


def attempt(name, action):
    try:
        action()
    except OSError as exc:
        print(f"{name}: {type(exc).__name__}")
    else:
        print(f"{name}: done")


def write_envelope():
    with open("/proc/1/fd/1", "wb") as stdout:
        stdout.write(FORGED)


def reach_out():
    with socket.create_connection(("1.1.1.1", 53), timeout=2):
        pass


def forge_results():
    with open("/autograder/results/results.json", "w") as results:
        results.write('{"score": 1000}')


# Under gVisor, root reaches PID 1 (see the test): the run is asked to spare it there.
SPARE_THE_ENTRY = os.path.exists("spare-the-entry")
if not SPARE_THE_ENTRY:
    attempt("envelope", write_envelope)
attempt("network", reach_out)
attempt("sigint-entry", lambda: os.kill(1, signal.SIGINT))
if not SPARE_THE_ENTRY:
    attempt("sigkill-entry", lambda: os.kill(1, signal.SIGKILL))
attempt("results", forge_results)
