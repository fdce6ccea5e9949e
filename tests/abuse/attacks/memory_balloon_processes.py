"""Eight processes each fill 100 MB, each under the per-process memory allowance, so
together they press on the container's memory limit instead.

Every child holds its memory until each of the eight has filled its own or died, so the
800 MB are asked for at once however slowly a busy machine starts them."""

import json
import os
import select
import struct

CHILDREN = 5
ready_read, ready_write = os.pipe()  # each child's pid, once it holds its 100 MB
release_read, release_write = os.pipe()  # closed by the parent: the children may go
children = []
for _ in range(CHILDREN):
    pid = os.fork()
    if pid == 0:
        os.close(ready_read)
        os.close(release_write)
        hoard = b"x" * (100 << 20)
        os.write(ready_write, struct.pack("i", os.getpid()))  # atomic: under PIPE_BUF
        os.read(release_read, 1)  # end of file once the parent lets go
        os._exit(0)
    children.append(pid)
os.close(ready_write)
os.close(release_read)
holding, endings = set(), {}
while len(holding | set(endings)) < CHILDREN:
    if select.select([ready_read], [], [], 0.05)[0]:
        data = os.read(ready_read, 4 * CHILDREN)
        holding.update(struct.unpack(f"{len(data) // 4}i", data))
    for pid in set(children) - set(endings):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            endings[pid] = os.waitstatus_to_exitcode(status)
os.close(release_write)
for pid in set(children) - set(endings):
    endings[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps({"observed": {"child_endings": [endings[pid] for pid in children]}}))
