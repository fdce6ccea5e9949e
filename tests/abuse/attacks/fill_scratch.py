"""Fills every writable place with files until the disk says no, and leaves them there."""

import errno
import json
import os

TOKEN = json.load(open("targets.json"))["token"]
CHUNK = b"x" * (1 << 20)
FILE_MB = 15  # under the 16 MB file size limit


def fill(directory):
    written, failure = 0, None
    try:
        for number in range(1000):
            with open(os.path.join(directory, f"{TOKEN}-fill-{number}"), "wb") as handle:
                for _ in range(FILE_MB):
                    handle.write(CHUNK)
                    written += len(CHUNK)
    except OSError as exc:
        failure = errno.errorcode[exc.errno]
    return {"megabytes": written >> 20, "stopped_by": failure}


observed = {place: fill(place) for place in (os.getcwd(), "/dev/shm")}
for place in ("/run/grade", "/", "/var/tmp", "/usr/local"):
    observed[place] = fill(place)
print(json.dumps({"observed": observed}))
