# time limit: 4 s
"""Sleeps for ever, and leaves a daemon behind that ignores polite signals."""

import os
import signal
import time

if os.fork() == 0:
    os.setsid()  # out of the process group the checker kills
    if os.fork() == 0:
        for polite in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(polite, signal.SIG_IGN)
        time.sleep(10**6)
    os._exit(0)
time.sleep(10**6)
