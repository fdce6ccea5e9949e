"""Reads the environment and command line of every process it can see."""

import json
import os

seen = {}
for pid in sorted(filter(str.isdigit, os.listdir("/proc")), key=int):
    if int(pid) == os.getpid():
        continue
    try:
        environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        seen[pid] = sorted(item.decode(errors="replace") for item in environ if item)
    except OSError as exc:
        seen[pid] = type(exc).__name__
print(json.dumps({"observed": {"environ": seen, "own": sorted(os.environ)}}))
