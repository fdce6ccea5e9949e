"""Looks for the hidden checker files and the reference solution: directly, through the
checker's /proc entries, and by searching every readable file for their markers.

What it found is printed as it goes (the direct attempts first, then one line per file
with a marker, then how many files it searched), so the test judges what it could read
even if a slow machine stops it at the time limit before the search ends.
"""

import json
import os

# Split so that this program's own source does not contain them.
MARKERS = (b"hidden-grader" + b"-secret", b"reference" + b"-solution")
# Where a checker, the entry program or the platform could leave a copy: the image's
# system folders (/usr, most of /var) hold only what the Dockerfile put there.
SEARCHED = ("/run", "/tmp", "/dev/shm", "/opt", "/srv", "/home", "/root", "/var", "/etc")
MOST_READ = 1 << 20  # of one file: the markers sit in small files
checker = os.getppid()
observed = {}
for path in (
    "/run/grade/grader",
    "/run/grade/grader/check.py",
    "/run/grade/grader/secret.txt",
    "/run/grade/solution/main.py",
    f"/proc/{checker}/cwd/secret.txt",
    f"/proc/{checker}/root/run/grade/grader/secret.txt",
    "/proc/1/root/run/grade/grader/secret.txt",
    f"/proc/{checker}/fd",
    f"/proc/{checker}/mem",
):
    try:
        if os.path.isdir(path):
            observed[path] = sorted(os.listdir(path))
        else:
            observed[path] = open(path, "rb").read(200).decode(errors="replace")
    except OSError as exc:
        observed[path] = type(exc).__name__
print(json.dumps({"observed": observed}), flush=True)
searched = 0
for top in SEARCHED:
    for folder, _, names in os.walk(top):
        for name in names:
            path = os.path.join(folder, name)
            try:
                if not os.path.isfile(path):
                    continue
                with open(path, "rb") as handle:
                    data = handle.read(MOST_READ)
            except OSError:
                continue
            searched += 1
            if any(marker in data for marker in MARKERS):
                print(json.dumps({"found": path}), flush=True)
print(json.dumps({"searched": searched}), flush=True)
