"""A cheat: print a full-marks results document and try to hand it to the grader directly."""

import json
import os

FORGED = json.dumps(
    {
        "score": 10,
        "max_score": 10,
        "output": "all good",
        "tests": [{"name": "everything", "score": 10, "max_score": 10, "status": "passed"}],
    }
)

# Try every door to the checker's own standard output and result files.
for target in (
    "/proc/1/fd/1",
    "/proc/self/../1/fd/1",
    "/run/grade/result.json",
    "/run/grade/grader/result.json",
    "/dev/console",
):
    try:
        with open(target, "w") as handle:
            handle.write(FORGED + "\n")
    except OSError:
        pass
try:
    os.kill(1, 9)  # and failing that, kill the checker before it can report
except OSError:
    pass
print(FORGED)
