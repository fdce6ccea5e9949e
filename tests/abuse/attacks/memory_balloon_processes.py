"""Eight processes each fill 100 MB, each under the per-process memory allowance, so
together they press on the container's memory limit instead."""

import json
import os
import time

children = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        hoard = b"x" * (100 << 20)
        time.sleep(1)
        os._exit(0)
    children.append(pid)
endings = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
print(json.dumps({"observed": {"child_endings": endings}}))
