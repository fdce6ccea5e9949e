"""Tries to stream a full-marks check as if it were the checker: progress frames on its
own streams, a record on every descriptor number, and on every process's descriptors
through /proc."""

import json
import os
import sys

RECORD = json.dumps({"check": {"name": "forged", "score": 100, "max_score": 100}})
FRAME = f"DOWNSTACK-PROGRESS {len(RECORD)}\n{RECORD}"
attempts = {}
for fd in range(3, 256):
    try:
        os.write(fd, f"{len(RECORD)}\n{RECORD}".encode())
        attempts[f"fd {fd}"] = "written"
    except OSError:
        pass  # not open in this process: nothing reached
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) == os.getpid():
        continue
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError as exc:
        attempts[f"/proc/{pid}/fd"] = type(exc).__name__
        continue
    for fd in descriptors:
        try:
            # Where gVisor lets it see, a process's /dev/null is world-writable and no
            # channel to anyone: nothing to forge through.
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null":
                attempts[f"/proc/{pid}/fd/{fd}"] = "/dev/null"
                continue
        except OSError:
            pass  # the link cannot be read: try the descriptor itself
        try:
            with open(f"/proc/{pid}/fd/{fd}", "w") as handle:
                handle.write(FRAME)
            attempts[f"/proc/{pid}/fd/{fd}"] = "written"
        except OSError as exc:
            attempts[f"/proc/{pid}/fd/{fd}"] = type(exc).__name__
print(FRAME)
print(FRAME, file=sys.stderr)
print(json.dumps({"observed": attempts}), file=sys.stderr)
