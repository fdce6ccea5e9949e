"""Signals, traces and reads the memory of the checker and the entry program, and sends
SIGKILL to every other process it is allowed to."""

import ctypes
import json
import os
import signal

PTRACE_ATTACH, PTRACE_SEIZE = 16, 0x4206
libc = ctypes.CDLL(None, use_errno=True)


def errno_name(result):
    return "allowed" if result == 0 else os.strerror(ctypes.get_errno())


observed = {}
for who, pid in (("entry", 1), ("checker", os.getppid())):
    for name, sent in (("SIGKILL", signal.SIGKILL), ("SIGSTOP", signal.SIGSTOP)):
        try:
            os.kill(pid, sent)
            observed[f"{name} {who}"] = "allowed"
        except OSError as exc:
            observed[f"{name} {who}"] = type(exc).__name__
    try:
        signal.pidfd_send_signal(os.pidfd_open(pid), signal.SIGKILL)
        observed[f"pidfd SIGKILL {who}"] = "allowed"
    except OSError as exc:
        observed[f"pidfd SIGKILL {who}"] = type(exc).__name__
    observed[f"ptrace attach {who}"] = errno_name(libc.ptrace(PTRACE_ATTACH, pid, None, None))
    observed[f"ptrace seize {who}"] = errno_name(libc.ptrace(PTRACE_SEIZE, pid, None, None))
    try:
        with open(f"/proc/{pid}/mem", "rb") as memory:
            memory.read(1)
        observed[f"memory of {who}"] = "read"
    except OSError as exc:
        observed[f"memory of {who}"] = type(exc).__name__
try:
    os.kill(-1, signal.SIGKILL)  # Linux spares the caller itself
    observed["SIGKILL everyone"] = "sent"
except OSError as exc:
    observed["SIGKILL everyone"] = type(exc).__name__
print(json.dumps({"observed": observed}))
