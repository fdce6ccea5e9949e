"""Tries to write a full-marks result wherever the checker or the sandbox might read one,
and prints one as its own output."""

import json
import os
import sys

FORGED = json.dumps({"score": 100, "max_score": 100, "output": "forged", "tests": []})
ENVELOPE = json.dumps({"checker_exit": 0, "results": FORGED})
ENVELOPE_TEXT = f"DOWNSTACK-ENVELOPE {len(ENVELOPE)}\n{ENVELOPE}"
attempts = {}
for target, text in (
    ("/proc/1/fd/1", ENVELOPE_TEXT),
    (f"/proc/{os.getppid()}/fd/1", FORGED),
    ("/run/grade/results.json", FORGED),
    ("/run/grade/grader/results.json", FORGED),
    ("/run/grade/grader/check.py", "print(" + repr(FORGED) + ")"),
    ("/opt/downstack/lib/downstack_harness.py", "raise SystemExit"),
    ("/tmp/results.json", FORGED),
):
    try:
        with open(target, "w") as handle:
            handle.write(text)
        attempts[target] = "written"
    except OSError as exc:
        attempts[target] = type(exc).__name__
print(json.dumps({"observed": attempts}), file=sys.stderr)
print(FORGED)
print(ENVELOPE_TEXT)
