"""Looks for setuid programs and runs them to see whose rights they get, then tries to use
the capabilities a root process would have."""

import json
import os
import socket
import stat
import subprocess
import time

observed = {}
setuid = []
for folder in ("/usr/bin", "/usr/sbin", "/bin", "/sbin"):
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        mode = os.lstat(path).st_mode
        if stat.S_ISREG(mode) and mode & (stat.S_ISUID | stat.S_ISGID):
            setuid.append(path)
observed["setuid_programs"] = sorted(set(os.path.realpath(path) for path in setuid))

# su waits for a password on its stdin; meanwhile its credentials show whether the
# setuid bit lifted it to root.
su = subprocess.Popen(
    ["/usr/bin/su", "root", "-c", "id"],
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
)
# Its credentials count once it runs su itself (not the Python child before exec), so
# look until the name says so rather than sleep for a guess.
status = []
for _ in range(300):
    try:
        status = open(f"/proc/{su.pid}/status").read().splitlines()
    except OSError as exc:
        status = [type(exc).__name__]
        break
    if "Name:\tsu" in status:
        break
    time.sleep(0.01)
observed["su_credentials"] = [line for line in status if line.startswith(("Uid", "CapEff"))]
su.kill()
observed["su_said"] = su.communicate()[0].decode(errors="replace")[:200]
mount = subprocess.run(["/usr/bin/mount", "-t", "tmpfs", "none", "/tmp"], capture_output=True)
observed["mount_said"] = (mount.stdout + mount.stderr).decode(errors="replace")[:200]

status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
observed["own"] = {key: status.get(key, "").strip() for key in ("Uid", "CapEff", "NoNewPrivs")}
open("mine.txt", "w").close()
for name, attempt in (
    ("setuid(0)", lambda: os.setuid(0)),
    ("setgroups([0])", lambda: os.setgroups([0])),
    ("chown to root", lambda: os.chown("mine.txt", 0, 0)),
    ("mknod a disk", lambda: os.mknod("disk", stat.S_IFBLK | 0o600, os.makedev(8, 0))),
    ("open the disk", lambda: os.close(os.open("disk", os.O_RDONLY))),
    ("chmod the shadow file", lambda: os.chmod("/etc/shadow", 0o644)),
    ("set the hostname", lambda: socket.sethostname("escaped")),
):
    try:
        attempt()
        observed[name] = "allowed"
    except OSError as exc:
        observed[name] = type(exc).__name__
print(json.dumps({"observed": observed}))
