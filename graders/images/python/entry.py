"""Trusted entry program of Downstack grader images: PID 1 of every grading container.

The host talks to it over the container's three standard streams:

- stdin carries one tar archive: the lab's hidden checker under ``grader/`` and the
  learner's files under ``submission/``. It ends when the host closes its write side.
- stderr carries whatever the checker writes to its stderr (the staff log).
- stdout carries the checker's progress while it runs, one framed record per check it
  makes (or the name of the check it starts), then exactly one framed envelope::

      DOWNSTACK-PROGRESS <length>\\n{"check": {"name": "...", "score": 1, ...}}
      DOWNSTACK-PROGRESS <length>\\n{"running": "hidden case 2"}
      DOWNSTACK-ENVELOPE <length>\\n{"checker_exit": 0, "peak_memory_bytes": 123, "results": "..."}

  or ``{"error": "..."}`` when the run could not be set up. Only this program writes to
  the container's stdout: the checker's stdout is a pipe read here (its results
  document), its progress comes over a pipe of its own (DOWNSTACK_PROGRESS_FD, framed
  ``<length>\\n<record>``), and learner programs get neither, only pipes from the
  checker, so nothing they write can be taken for a record or the envelope.

The checker runs as root with the few capabilities the container keeps (it needs them to
start learner programs as another uid and to kill them); the learner's files are readable
but not writable by the learner uid, the checker's files are readable by root alone.

This file is copied into the image; it runs with the image's python3 and the standard
library only.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading

GRADE_ROOT = "/run/grade"
GRADER_DIR = GRADE_ROOT + "/grader"
SUBMISSION_DIR = GRADE_ROOT + "/submission"
HARNESS_LIB = "/opt/downstack/lib"
ENVELOPE_MAGIC = b"DOWNSTACK-ENVELOPE"
PROGRESS_MAGIC = b"DOWNSTACK-PROGRESS"
# One progress record's length line ("<digits>\n") is never longer than this.
PROGRESS_HEADER_BYTES = 16

# Settings the host passes to this program only; they are removed from the checker's env.
# DOWNSTACK_RESULT_BYTES stays: the harness fits the results document to it.
PRIVATE_ENV = ("DOWNSTACK_INPUT_BYTES",)
TOP_LEVEL = {"grader": GRADER_DIR, "submission": SUBMISSION_DIR}

# cgroup v1 exposes the high-water mark as memory.max_usage_in_bytes; cgroup v2 as
# memory.peak (kernel 5.19+). Both are the container's own cgroup from inside it.
PEAK_MEMORY_FILES = (
    "/sys/fs/cgroup/memory/memory.max_usage_in_bytes",
    "/sys/fs/cgroup/memory.peak",
)

# After the checker exits, how long to wait for its stdout to reach end of file. All it
# wrote is already in the pipe; only a background process of the checker that inherited
# the pipe could hold the end of file back, possibly for ever.
STDOUT_DRAIN_S = 1.0


class InputError(Exception):
    """The archive from the host is unusable; reported in the envelope, not as a crash."""


def read_archive(limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    stdin = sys.stdin.fileno()
    while True:
        chunk = os.read(stdin, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise InputError(f"the files sent to the sandbox exceed {limit} bytes")
        chunks.append(chunk)


def destination(name: str) -> tuple[str, str]:
    """Map an archive member name to (top-level part, path on disk), refusing escapes."""
    if not name or name.startswith("/") or "\0" in name:
        raise InputError(f"refusing archive member {name!r}: not a relative path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise InputError(f"refusing archive member {name!r}: it climbs out with '..'")
    if not parts or parts[0] not in TOP_LEVEL:
        raise InputError(f"refusing archive member {name!r}: not under grader/ or submission/")
    return parts[0], os.path.join(TOP_LEVEL[parts[0]], *parts[1:])


def unpack(archive: bytes) -> None:
    # The grader tree is root's alone (0700/0600). The submission tree is root-owned but
    # world-readable: the learner uid may read its own files, yet cannot change them
    # between runs (the harness gives every learner run a fresh, learner-owned copy).
    modes = {"grader": (0o700, 0o600, 0o700), "submission": (0o755, 0o644, 0o755)}
    os.makedirs(GRADE_ROOT, mode=0o755, exist_ok=True)
    for top, (dir_mode, _, _) in modes.items():
        os.mkdir(TOP_LEVEL[top], dir_mode)
        os.chmod(TOP_LEVEL[top], dir_mode)  # mkdir's mode is filtered by the umask
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        for member in tar:
            top, path = destination(member.name)
            dir_mode, file_mode, exec_mode = modes[top]
            if member.isdir():
                os.makedirs(path, mode=dir_mode, exist_ok=True)
                continue
            if not member.isfile():
                raise InputError(f"refusing archive member {member.name!r}: not a regular file")
            parent = os.path.dirname(path)
            os.makedirs(parent, mode=dir_mode, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                raise InputError(f"archive member {member.name!r} has no data")
            mode = exec_mode if member.mode & 0o100 else file_mode
            # O_EXCL|O_NOFOLLOW: a duplicate name or a planted link must not redirect a write.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            fd = os.open(path, flags, mode)
            with os.fdopen(fd, "wb") as out:
                out.write(source.read())
            os.chmod(path, mode)


def peak_memory_bytes() -> int | None:
    for path in PEAK_MEMORY_FILES:
        try:
            with open(path) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            continue
    return None


def checker_env(learner_uid: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in PRIVATE_ENV}
    env.update(
        PYTHONPATH=HARNESS_LIB,
        DOWNSTACK_GRADER=GRADER_DIR,
        DOWNSTACK_SUBMISSION=SUBMISSION_DIR,
        DOWNSTACK_LEARNER_UID=learner_uid,
        HOME=GRADER_DIR,
    )
    return env


class ProgressForwarder(threading.Thread):
    """Forwards the checker's framed progress records to stdout as they arrive.

    The records together may take ``cap`` bytes, as the results document may; past the
    cap, or on a frame that is not ``<length>\\n<record>``, it stops forwarding, kills
    the checker and says why (``problem``): the run becomes a grader error. Once
    ``close`` has been called (the envelope is next), nothing more is forwarded.
    """

    BAD_FRAME = "the checker's progress stream is not framed as <length>\\n<record>"

    def __init__(self, fd: int, cap: int, checker_pid: int, stdout: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.cap = cap
        self.checker_pid = checker_pid
        self.stdout = stdout
        self.forwarded = 0
        self.closed = False
        self.problem = ""

    def run(self) -> None:
        buffer = bytearray()
        while chunk := os.read(self.fd, 1 << 16):
            buffer += chunk
            while record := self.next_record(buffer):
                with self.stdout:
                    if self.closed:
                        return
                    write_frame(PROGRESS_MAGIC, record)
            if self.problem:
                return
        if buffer:
            self.fail(f"the checker's progress stream ends inside a record ({len(buffer)} bytes)")

    def next_record(self, buffer: bytearray) -> bytes | None:
        """Take the first whole record off ``buffer``; None until one is whole or on a
        problem (then ``problem`` is set)."""
        header, newline, _ = bytes(buffer[:PROGRESS_HEADER_BYTES]).partition(b"\n")
        bad_header = not header.isdigit() and bool(newline or header)
        if bad_header or len(header) >= PROGRESS_HEADER_BYTES or (newline and int(header) == 0):
            self.fail(self.BAD_FRAME)
            return None
        if not newline:
            return None
        size = int(header)
        if self.forwarded + size > self.cap:
            self.fail(f"the checker streamed more than {self.cap} bytes of progress")
            return None
        end = len(header) + 1 + size
        if len(buffer) < end:
            return None
        record = bytes(buffer[len(header) + 1 : end])
        del buffer[:end]
        self.forwarded += size
        return record

    def close(self) -> None:
        with self.stdout:
            self.closed = True

    def fail(self, problem: str) -> None:
        self.problem = self.problem or problem
        try:
            os.kill(self.checker_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class CappedReader(threading.Thread):
    """Reads a pipe into memory up to a cap; on overflow kills the writer and stops."""

    def __init__(self, fd: int, cap: int, on_overflow: threading.Event) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.cap = cap
        self.on_overflow = on_overflow
        self.data = bytearray()

    def run(self) -> None:
        while True:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return
            if len(self.data) + len(chunk) > self.cap:
                self.on_overflow.set()
                return
            self.data += chunk


def wait_reaping_orphans(pid: int) -> int:
    """Wait for the checker; as PID 1 also reap any orphan re-parented to us meanwhile."""
    while True:
        reaped, status = os.wait()
        if reaped == pid:
            return os.waitstatus_to_exitcode(status)


def run_checker(
    command: list[str], result_bytes: int, learner_uid: str, stdout: threading.Lock
) -> dict[str, object]:
    overflow = threading.Event()
    # Both ends are close-on-exec: only the checker gets the write end (pass_fds), and
    # the harness keeps it from every program the checker starts.
    progress_read, progress_write = os.pipe()
    env = checker_env(learner_uid)
    env["DOWNSTACK_PROGRESS_FD"] = str(progress_write)
    try:
        checker = subprocess.Popen(
            command,
            cwd=GRADER_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            # stderr is inherited: it is the container's stderr, the staff log.
            close_fds=True,
            pass_fds=(progress_write,),
            # Files the checker creates are private unless it says otherwise, so hidden
            # data written to /tmp is not readable by the learner uid.
            umask=0o077,
        )
    except OSError as exc:
        return {"error": f"could not start the checker {command!r}: {exc.strerror or exc}"}
    finally:
        os.close(progress_write)
    assert checker.stdout is not None
    reader = CappedReader(checker.stdout.fileno(), result_bytes, overflow)
    reader.start()
    progress = ProgressForwarder(progress_read, result_bytes, checker.pid, stdout)
    progress.start()
    watcher = threading.Thread(target=kill_on_overflow, args=(overflow, checker.pid), daemon=True)
    watcher.start()
    exit_code = wait_reaping_orphans(checker.pid)
    checker.returncode = exit_code
    reader.join(STDOUT_DRAIN_S)
    progress.join(STDOUT_DRAIN_S)
    progress.close()
    envelope: dict[str, object] = {
        "checker_exit": exit_code,
        "peak_memory_bytes": peak_memory_bytes(),
    }
    if progress.problem:
        envelope["error"] = progress.problem
    elif overflow.is_set():
        envelope["error"] = f"the checker printed more than {result_bytes} bytes of results"
    else:
        try:
            envelope["results"] = bytes(reader.data).decode("utf-8")
        except UnicodeDecodeError as exc:
            envelope["error"] = f"the checker's results are not valid UTF-8 ({exc.reason})"
    if "error" in envelope:
        note(f"{envelope['error']} (checker exit status {exit_code})")
    return envelope


def note(message: str) -> None:
    """A line for the staff log, so that a run the entry program ended says why there."""
    sys.stderr.write(f"downstack entry: {message}\n")
    sys.stderr.flush()


def kill_on_overflow(overflow: threading.Event, pid: int) -> None:
    overflow.wait()
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def write_envelope(envelope: dict[str, object]) -> None:
    write_frame(ENVELOPE_MAGIC, json.dumps(envelope, ensure_ascii=False).encode("utf-8"))


def write_frame(magic: bytes, data: bytes) -> None:
    out = sys.stdout.buffer
    out.write(magic + b" " + str(len(data)).encode("ascii") + b"\n" + data)
    out.flush()


def main(argv: list[str]) -> int:
    command = argv[1:]
    if not command:
        write_envelope({"error": "no checker command given"})
        return 0
    if os.getuid() != 0:
        write_envelope({"error": "the entry program must start as root to drop privileges"})
        return 0
    input_bytes = int(os.environ.get("DOWNSTACK_INPUT_BYTES", str(64 << 20)))
    result_bytes = int(os.environ.get("DOWNSTACK_RESULT_BYTES", str(256 << 10)))
    learner_uid = os.environ.get("DOWNSTACK_LEARNER_UID", "2000")
    if not learner_uid.isdigit() or int(learner_uid) == 0:
        write_envelope({"error": f"the learner uid must be a non-root uid, got {learner_uid!r}"})
        return 0
    try:
        unpack(read_archive(input_bytes))
    except (InputError, tarfile.TarError) as exc:
        write_envelope({"error": f"bad input archive: {exc}"})
        return 0
    # Progress records and the envelope are written whole, one at a time.
    stdout = threading.Lock()
    envelope = run_checker(command, result_bytes, learner_uid, stdout)
    with stdout:
        write_envelope(envelope)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
