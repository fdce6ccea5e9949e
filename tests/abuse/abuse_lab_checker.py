"""The checker of the "abuse" lab: runs the learner's main.py once and reports honestly.

It is copied into the lab's hidden grader/ folder as check.py and runs inside the grader
image, so it uses the standard library and the harness only. One check scores the
program (it must print 3 + 4, from stdin); a second, worth nothing, tells what the
sandbox saw: how the program ended, what it printed, whether any of its processes or
files outlived it, and whether the checker's files and scratch space survived it.

The program's time limit is far above what any case needs, so that a loaded machine
cannot turn a verdict into a time-out; a case that is about the time limit asks for a
short one in its first line (``# time limit: 4 s``), so that it ends soon.
"""

import hashlib
import json
import os
import signal
from pathlib import Path

from downstack_harness import Grader

TIMEOUT_S = 30
MEMORY_MB = 128
GRADER_DIR = Path(os.environ["DOWNSTACK_GRADER"])
SCRATCH = ("/tmp", "/dev/shm")
# Written by the checker after the learner's run: a link the learner planted under this
# name must not redirect the write into the checker's files.
NOTES = Path("/tmp/checker-notes.txt")
HEAD_BYTES = 2048
TAIL_BYTES = 8192


def grader_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(GRADER_DIR.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(GRADER_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def processes_of(uid: int | None) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue  # it ended while we looked
        real_uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        if int(real_uid) == uid:
            found.append(int(entry))
    return found


def files_of(uid: int | None) -> list[str]:
    found = []
    for directory in SCRATCH:
        for entry in os.scandir(directory):
            if entry.stat(follow_symlinks=False).st_uid == uid:
                found.append(entry.path)
    return found


def free_space() -> dict[str, list[int]]:
    """Free bytes and free inodes of each scratch directory."""
    space = {}
    for directory in SCRATCH:
        stats = os.statvfs(directory)
        space[directory] = [stats.f_bavail * stats.f_frsize, stats.f_ffree]
    return space


def time_limit(source: bytes) -> float:
    """The program's time limit: its first line's ``# time limit: N s``, else TIMEOUT_S."""
    first = source.split(b"\n", 1)[0].decode(errors="replace")
    prefix, _, rest = first.partition("# time limit:")
    words = rest.split()
    if prefix.strip() or len(words) != 2 or words[1] != "s":
        return TIMEOUT_S
    return float(words[0])


def verdict(run, timeout_s: float) -> str:
    if run.timed_out:
        return f"Your program ran past its {timeout_s:g} s time limit and was stopped."
    if run.memory_exceeded:
        return f"Your program used more than {MEMORY_MB} MB of memory and was stopped."
    if run.output_truncated:
        return "Your program printed more than 1 MB and was stopped."
    if run.returncode is not None and run.returncode < 0:
        return f"Your program was killed by {signal.Signals(-run.returncode).name}."
    if run.returncode != 0:
        return f"Your program exited with status {run.returncode}."
    return "Your program ran to the end."


grader = Grader()
fingerprint_before = grader_fingerprint()
space_before = free_space()
timeout_s = time_limit(grader.submission_file("main.py") or b"")
run = grader.run_learner(
    ["python3", "main.py"], input=b"3 4\n", timeout_s=timeout_s, memory_mb=MEMORY_MB
)
leftover_processes = processes_of(grader.learner_uid)
leftover_files = files_of(grader.learner_uid)
NOTES.write_text("the checker ran after the learner\n")
answer = run.stdout.split(b"\n", 1)[0].strip()
said = verdict(run, timeout_s)
grader.output = said
grader.check("answers 3 + 4", run.ok and answer == b"7", output=said)
report = {
    "learner_uid": grader.learner_uid,
    "timeout_s": timeout_s,
    "returncode": run.returncode,
    "timed_out": run.timed_out,
    "memory_exceeded": run.memory_exceeded,
    "output_truncated": run.output_truncated,
    "duration_s": round(run.duration_s, 2),
    "stdout_head": run.stdout[:HEAD_BYTES].decode(errors="replace"),
    "stdout_tail": run.stdout[-TAIL_BYTES:].decode(errors="replace"),
    "stderr_tail": run.stderr[-TAIL_BYTES:].decode(errors="replace"),
    "leftover_processes": leftover_processes,
    "leftover_files": leftover_files,
    "grader_files_intact": grader_fingerprint() == fingerprint_before,
    "notes": NOTES.read_text(),
    "notes_is_plain_file": NOTES.is_file() and not NOTES.is_symlink(),
    "free_space_before": space_before,
    "free_space_after": free_space(),
}
grader.check("what the sandbox saw", True, max_score=0, output=json.dumps(report))
grader.emit()
