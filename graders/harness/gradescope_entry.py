"""Trusted entry program of a Gradescope autograder's image: PID 1 of its grading containers.

It speaks the same protocol as the entry program of Downstack's own grader images
(``entry.py``, beside this file in the image, whose pieces it uses): one tar on stdin,
the staff log on stderr, one framed envelope on stdout. What it runs is Gradescope's
layout instead of a Downstack checker:

- ``/autograder`` is a fresh tmpfs that allows exec. Everything the image's build left
  there (the autograder's ``source/``, ``run_autograder``, whatever setup.sh put beside
  them) was moved to ``SNAPSHOT`` when the image was made, and is copied back first.
- The learner's files (``submission/`` in the tar) go to ``/autograder/submission``, and
  ``grader/submission_metadata.json`` from the host to ``/autograder``.
- ``run_autograder`` runs as root, in ``/autograder``, its stdout and stderr both the
  staff log; it must write ``/autograder/results/results.json``.
- At ``DOWNSTACK_TIMEOUT_S`` every process but this one is killed, and whatever
  results.json holds by then is still sent (partial credit, where Gradescope scores 0);
  the envelope says ``"deadline_reached": true``. The host's own deadline comes later.

The envelope carries results.json as text (``"results"``), or none when there is none;
the host parses it in Gradescope's dialect. Runs with the image's Debian python3 and the
standard library only.
"""

from __future__ import annotations

import ctypes
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import entry  # noqa: E402 (the directory above is where the image keeps it)

AUTOGRADER = "/autograder"
SNAPSHOT = "/opt/downstack/autograder"
SUBMISSION_DIR = AUTOGRADER + "/submission"
RESULTS_DIR = AUTOGRADER + "/results"
RESULTS_FILE = RESULTS_DIR + "/results.json"
METADATA = "submission_metadata.json"
PRIVATE_ENV = ("DOWNSTACK_INPUT_BYTES", "DOWNSTACK_RESULT_BYTES", "DOWNSTACK_TIMEOUT_S")
# Gradescope's run_autograder runs as root with a root's environment.
RUN_ENV = {"HOME": "/root", "USER": "root", "LOGNAME": "root"}
PR_SET_DUMPABLE = 4
# After the kill at the deadline, how long the killed processes may take to be reaped.
REAP_S = 5.0


def unpack(archive: bytes) -> None:
    """The learner's files to /autograder/submission, the metadata to /autograder; both
    root's, as Gradescope leaves them, the execute bit kept where it was set."""
    os.makedirs(SUBMISSION_DIR, mode=0o755, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        for member in tar:
            top, path = entry.destination(member.name)
            if top == "grader":
                relative = os.path.relpath(path, entry.GRADER_DIR)
                if relative != METADATA:
                    raise entry.InputError(f"refusing archive member {member.name!r}")
                path = os.path.join(AUTOGRADER, METADATA)
            else:
                path = os.path.join(SUBMISSION_DIR, os.path.relpath(path, entry.SUBMISSION_DIR))
            if member.isdir():
                os.makedirs(path, mode=0o755, exist_ok=True)
                continue
            if not member.isfile():
                raise entry.InputError(f"refusing archive member {member.name!r}: not a file")
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                raise entry.InputError(f"archive member {member.name!r} has no data")
            mode = 0o755 if member.mode & 0o100 else 0o644
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            with os.fdopen(fd, "wb") as out:
                out.write(source.read())
            os.chmod(path, mode)


def lay_out() -> None:
    """Copy what the image's build left in /autograder back onto the fresh tmpfs."""
    if not os.path.isdir(SNAPSHOT):
        raise entry.InputError(f"this image has no {SNAPSHOT}: it was not built by Downstack")
    shutil.copytree(SNAPSHOT, AUTOGRADER, symlinks=True, dirs_exist_ok=True)
    os.chmod(AUTOGRADER, 0o755)
    os.makedirs(RESULTS_DIR, mode=0o755, exist_ok=True)


def run_autograder(command: list[str], timeout_s: float) -> tuple[int | None, bool]:
    """Run the autograder until it exits or the deadline; (its exit status, whether the
    deadline stopped it). Then every process in the container but this one is killed, so
    nothing it started can still be writing results.json."""
    env = {key: value for key, value in os.environ.items() if key not in PRIVATE_ENV}
    env.update(RUN_ENV)
    try:
        process = subprocess.Popen(
            command,
            cwd=AUTOGRADER,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno(),  # both streams are the staff log
            stderr=sys.stderr.fileno(),
            close_fds=True,
        )
    except OSError as exc:
        raise entry.InputError(f"could not start {command[0]}: {exc.strerror or exc}") from exc
    expired, exited = threading.Event(), threading.Event()
    lock = threading.Lock()

    def stop_everything() -> None:
        with lock:
            if exited.is_set():  # it ended by itself just in time
                return
            expired.set()
            kill_all_but_me()

    deadline = threading.Timer(timeout_s, stop_everything)
    deadline.daemon = True
    deadline.start()
    try:
        status = entry.wait_reaping_orphans(process.pid)
    finally:
        with lock:
            exited.set()
        deadline.cancel()
    # What it left running must not change results.json while it is read.
    kill_all_but_me()
    reap_until(time.monotonic() + REAP_S)
    return (None, True) if expired.is_set() else (status, False)


def kill_all_but_me() -> None:
    try:
        os.kill(-1, signal.SIGKILL)  # as PID 1: every process in the container but this one
    except ProcessLookupError:
        pass  # there was none left


def reap_until(deadline: float) -> None:
    """Reap the killed processes, until none is left or the deadline."""
    while time.monotonic() < deadline:
        try:
            reaped, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if reaped == 0:
            time.sleep(0.05)


def read_results(cap: int) -> tuple[str | None, str]:
    """results.json's text, or None and why; a link planted in its place is not followed."""
    try:
        fd = os.open(RESULTS_FILE, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None, f"run_autograder wrote no {RESULTS_FILE}"
    except OSError as exc:
        return None, f"{RESULTS_FILE} cannot be read: {exc.strerror or exc}"
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        return None, f"{RESULTS_FILE} is larger than {cap} bytes"
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        return None, f"{RESULTS_FILE} is not valid UTF-8 ({exc.reason})"


def undumpable() -> None:
    """Keep the autograder, root like this program, out of this program's /proc entries:
    through /proc/1/fd/1 it could otherwise write to the envelope's stream."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")


def main(argv: list[str]) -> int:
    command = argv[1:] or [AUTOGRADER + "/run_autograder"]
    if os.getuid() != 0:
        entry.write_envelope({"error": "the entry program must start as root"})
        return 0
    undumpable()
    # Root in the container may signal PID 1, which receives only the signals it handles:
    # Python's own SIGINT handler would end this program without an envelope. A handler,
    # not SIG_IGN, so that the autograder starts with the default again.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    input_bytes = int(os.environ.get("DOWNSTACK_INPUT_BYTES", str(64 << 20)))
    result_bytes = int(os.environ.get("DOWNSTACK_RESULT_BYTES", str(256 << 10)))
    timeout_s = float(os.environ.get("DOWNSTACK_TIMEOUT_S", "600"))
    try:
        unpack(entry.read_archive(input_bytes))
        lay_out()
        status, deadline_reached = run_autograder(command, timeout_s)
    except (entry.InputError, tarfile.TarError, OSError) as exc:
        entry.note(str(exc))
        entry.write_envelope({"error": f"could not run the autograder: {exc}"})
        return 0
    results, problem = read_results(result_bytes)
    envelope: dict[str, object] = {
        "checker_exit": status,
        "peak_memory_bytes": entry.peak_memory_bytes(),
        "deadline_reached": deadline_reached,
        "results": results,
    }
    if results is None:
        envelope["problem"] = problem
        entry.note(problem)
    entry.write_envelope(envelope)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
