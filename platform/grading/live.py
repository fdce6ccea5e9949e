"""A running submission's checks, stored as the checker streams them.

The sandbox passes each progress record to a ``LiveChecks`` as it arrives. Rows go in at
the positions the final results will take, and the check now running onto the
submission, at most once per GRADING_PROGRESS_WRITE_MS: records that come faster wait
for the next write, which a thread of its own makes when no further record comes. Every
write is conditional on the claim (status running, this worker's token), so a worker that
lost its claim writes nothing, and none happens after ``close``. The final result
replaces the rows (grading.pipeline), so what was streamed is never the last word.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.conf import settings
from django.db import DatabaseError, connection, transaction

import graders
from grading.models import JobStatus, Submission, TestResult

log = logging.getLogger(__name__)


class LiveChecks:
    """The on_progress callback of one submission's run; ``close()`` it afterwards."""

    def __init__(self, submission_pk, token: uuid.UUID) -> None:
        self.submission_pk = submission_pk
        self.token = token
        self.interval_s = settings.GRADING_PROGRESS_WRITE_MS / 1000
        self.lock = threading.Lock()
        self.pending: list[graders.TestOutcome] = []
        self.running: str | None = None
        self.dirty = False
        self.stored = 0
        self.written_at = -float("inf")
        self.closed = threading.Event()
        self._forget_earlier_attempts()
        # Inside an open transaction nothing written here is visible to anyone else, and
        # another connection would wait on its locks: write in the caller's thread only.
        self.flusher: threading.Thread | None = None
        if not connection.in_atomic_block:
            self.flusher = threading.Thread(
                target=self._flush_until_closed, name=f"live-{submission_pk}", daemon=True
            )
            self.flusher.start()

    def __call__(self, progress: graders.Progress) -> None:
        with self.lock:
            if self.closed.is_set():
                return
            if progress.check is not None:
                self.pending.append(progress.check)
            elif progress.running is not None:
                self.running = progress.running
            else:
                return  # a declared check: shown once it is made, or as not run
            self.dirty = True
            if time.monotonic() - self.written_at >= self.interval_s:
                self._write()

    def close(self) -> None:
        """Stop writing; the final result takes over from here."""
        with self.lock:
            self.closed.set()
        if self.flusher is not None:
            self.flusher.join()

    def _forget_earlier_attempts(self) -> None:
        """Remove what an earlier, abandoned attempt at this grading streamed."""
        with transaction.atomic():
            if self._ours().exists():
                TestResult.objects.filter(submission_id=self.submission_pk).delete()

    def _ours(self):
        return Submission.objects.filter(
            pk=self.submission_pk, status=JobStatus.RUNNING, claim_token=self.token
        )

    def _flush_until_closed(self) -> None:
        try:
            while not self.closed.wait(self.interval_s):
                with self.lock:
                    if self.dirty and not self.closed.is_set():
                        self._write()
        finally:
            connection.close()

    def _write(self) -> None:
        """Store what is pending (the lock is held). A failed write is retried with the
        next one; live progress is a view, never a reason to fail the grading."""
        try:
            with transaction.atomic():
                ours = self._ours().update(running_check=self.running or "")
                if ours and self.pending:
                    TestResult.objects.bulk_create(
                        TestResult(
                            submission_id=self.submission_pk,
                            position=self.stored + offset,
                            **row,
                        )
                        for offset, row in enumerate(graders.test_rows(self.pending))
                    )
        except DatabaseError as exc:
            log.warning("submission %s: could not store progress: %s", self.submission_pk, exc)
            return
        self.stored += len(self.pending)
        self.pending.clear()
        self.dirty = False
        self.written_at = time.monotonic()
