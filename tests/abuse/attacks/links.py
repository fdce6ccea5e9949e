"""Plants symbolic and hard links to the checker's files, /etc/shadow, the sandbox's
output and a file on the grading host, where the checker will write next; reads through
them and leaves them behind."""

import json
import os

targets = json.load(open("targets.json"))
pointed_at = {
    "secret": "/run/grade/grader/secret.txt",
    "checker": "/run/grade/grader/check.py",
    "shadow": "/etc/shadow",
    "sandbox-output": "/proc/1/fd/1",
    "host-canary": targets["canary"],
}
observed = {}
for folder in (".", "/tmp", "/dev/shm"):
    for name, target in pointed_at.items():
        link = os.path.join(folder, f"{targets['token']}-{name}")
        os.symlink(target, link)
        try:
            with open(link, "r+") as through:
                observed[f"{link} -> {target}"] = through.read(100)
                through.write("overwritten by the learner")
        except OSError as exc:
            observed[f"{link} -> {target}"] = type(exc).__name__
        try:
            os.link(target, os.path.join(folder, f"{targets['token']}-{name}-hard"))
            observed[f"hard link {folder} -> {target}"] = "made"
        except OSError as exc:
            observed[f"hard link {folder} -> {target}"] = type(exc).__name__
# Where the checker writes after this program ends.
os.symlink("/run/grade/grader/check.py", "/tmp/checker-notes.txt")
observed["planted /tmp/checker-notes.txt"] = os.readlink("/tmp/checker-notes.txt")
print(json.dumps({"observed": observed}))
