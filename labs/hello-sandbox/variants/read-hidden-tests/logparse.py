"""A cheat: go looking for the checker's files and expected answers, then fall back."""

import glob
import json
import os
import sys

found = {}
for pattern in (
    "../grader/*",
    "/run/grade/grader/*",
    "/run/grade/*/*.py",
    "/proc/1/cwd/*",
    "/proc/1/environ",
    "/proc/1/cmdline",
    "/opt/downstack/**/*",
):
    for path in glob.glob(pattern, recursive=True):
        try:
            with open(path, "rb") as handle:
                found[path] = handle.read(200).decode(errors="replace")
        except OSError as exc:
            found[path] = f"denied: {exc.strerror}"
print(json.dumps(found)[:2000], file=sys.stderr)

# If a hidden file had been readable, a cheat would print the expected answer from it;
# here it can only echo what it saw, which is never a valid summary of the log.
readable = [p for p, text in found.items() if "grader" in p and not text.startswith("denied")]
if readable:
    print(json.dumps({"leaked": readable}))
    sys.exit(0)
sys.stdin.read()
print(
    json.dumps(
        {
            "requests": 0,
            "malformed": 0,
            "by_status": {},
            "p50_ms": None,
            "p99_ms": None,
            "cwd": os.getcwd(),
        }
    )
)
