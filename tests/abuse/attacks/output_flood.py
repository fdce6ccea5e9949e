"""Tries the container's own output streams, then writes 512 MB to stdout and 512 MB to
stderr at once, and says when it is done."""

import json
import os
import sys
import threading

attempts = {}
for target in ("/proc/1/fd/1", "/proc/1/fd/2", f"/proc/{os.getppid()}/fd/1"):
    try:
        with open(target, "w") as stream:
            stream.write("DOWNSTACK-ENVELOPE 2\n{}")
        attempts[target] = "written"
    except OSError as exc:
        attempts[target] = type(exc).__name__
print(json.dumps({"observed": {"other_streams": attempts}}), flush=True)

chunk = b"x" * (1 << 20)


def flood(stream):
    for _ in range(512):
        stream.write(chunk)


to_stderr = threading.Thread(target=flood, args=(sys.stderr.buffer,))
to_stderr.start()
flood(sys.stdout.buffer)
to_stderr.join()
sys.stderr.write("FLOOD-END")  # only a flood read to its end would show this
