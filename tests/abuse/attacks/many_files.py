# time limit: 4 s
"""Creates 100,000 files in its working directory and leaves them there."""

import json
import os

created, failure = 0, None
try:
    for number in range(100_000):
        os.close(os.open(f"f{number}", os.O_CREAT | os.O_WRONLY, 0o644))
        created += 1
except OSError as exc:
    failure = type(exc).__name__
print(json.dumps({"observed": {"created": created, "stopped_by": failure}}))
