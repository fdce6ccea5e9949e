"""Mounts, changes root, enters other namespaces and makes new ones; in any new user
namespace the kernel grants, tries again to reach what the checker holds."""

import ctypes
import json
import os
import signal

CLONE = {"mount": 0x00020000, "user": 0x10000000, "pid": 0x20000000, "net": 0x40000000}
libc = ctypes.CDLL(None, use_errno=True)


def result(code):
    return "allowed" if code == 0 else os.strerror(ctypes.get_errno())


def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as exc:
        return type(exc).__name__


def enter(namespace):
    try:
        handle = os.open(namespace, os.O_RDONLY)
    except OSError as exc:
        return type(exc).__name__
    return result(libc.setns(handle, 0))


def reach_the_checker():
    """What a process with (namespaced) root powers would try next."""
    return {
        "mount tmpfs": result(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
        "read the checker's files": attempt(lambda: open("/run/grade/grader/check.py").read()),
        "signal the checker": attempt(lambda: os.kill(os.getppid(), signal.SIGSTOP)),
        "enter the entry's mount namespace": enter("/proc/1/ns/mnt"),
        "chroot": attempt(lambda: os.chroot("/tmp")),  # last: it changes what paths mean
    }


observed = {"as_learner": reach_the_checker()}
for name in ("mount", "pid", "net", "user"):  # user last: it changes what follows
    observed[f"unshare {name}"] = result(libc.unshare(CLONE[name]))
if observed["unshare user"] == "allowed":
    observed["in_own_user_namespace"] = reach_the_checker()
print(json.dumps({"observed": observed}))
