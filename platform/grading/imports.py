"""Importing a Gradescope autograder from the staff page, on a grading worker.

The page stores the zip and the answer (an AutograderImport) and checks the zip at once,
by unpacking it into a scratch folder: a refusal (a missing setup.sh or run_autograder,
a hostile entry) is shown straight away, and a zip whose files sit in one folder can be
imported again with that folder stripped, without uploading it again. A zip that
passes goes to a worker, because building the image runs setup.sh with the package
mirrors through the Docker engine, which only workers reach. The worker runs
`labs import-gradescope`'s own code (catalog.gradescope_import), keeping the build's log
on the row as it goes, and loads the new lab with `labs sync`'s.

The lab folder is written to the worker's LABS_DIR: on one machine that is the site's
labs folder. Where web and workers do not share it, import with the command instead, on
the checkout the site is deployed from (README, "Bringing a Gradescope autograder").
"""

from __future__ import annotations

import base64
import logging
import tempfile
import threading
import time
from collections import deque
from datetime import timedelta
from pathlib import Path

import docker
import docker.errors
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.gradescope import AutograderZipError, extract_autograder
from catalog.gradescope_import import GradescopeImportError, import_gradescope
from catalog.sync import labs_sync
from graders.images.gradescope import AutograderBuildError
from grading.models import AutograderImport

log = logging.getLogger(__name__)

IMPORT_AUTOGRADER = "grading.import_autograder"
# The log kept on the row: its last this many lines, and characters.
MAX_LOG_LINES = 5_000
MAX_LOG_CHARS = 200_000
# How often the log is written to the row while the build runs.
LOG_FLUSH_S = 1.0
Status = AutograderImport.Status


def import_create(
    *,
    user,
    archive,
    slug: str,
    title: str,
    solution: dict[str, bytes],
    starter: dict[str, bytes] | None = None,
    strip_top_folder: bool = False,
) -> AutograderImport:
    """Store an import and check its zip; queue it for a worker unless refused."""
    record = AutograderImport.objects.create(
        created_by=user,
        archive=archive,
        archive_name=Path(archive.name).name[:255],
        slug=slug,
        title=title,
        answer={"solution": _encoded(solution), "starter": _encoded(starter or {})},
        strip_top_folder=strip_top_folder,
    )
    return _check_and_queue(record)


def import_again_stripped(record: AutograderImport, *, user) -> AutograderImport:
    """A new import of a refused one's zip and answer, its single top folder stripped."""
    again = AutograderImport.objects.create(
        created_by=user,
        archive=record.archive.name,  # the same stored file
        archive_name=record.archive_name,
        slug=record.slug,
        title=record.title,
        answer=record.answer,
        strip_top_folder=True,
    )
    return _check_and_queue(again)


def _check_and_queue(record: AutograderImport) -> AutograderImport:
    with tempfile.TemporaryDirectory(prefix="downstack-zip-check-") as scratch:
        try:
            with record.archive.open("rb") as stored:
                zip_path = Path(scratch) / "autograder.zip"
                zip_path.write_bytes(stored.read())
            extract_autograder(
                zip_path, Path(scratch) / "unpacked", strip_top_folder=record.strip_top_folder
            )
        except AutograderZipError as exc:
            record.status = Status.REFUSED
            record.error = str(exc)
            record.strippable_folder = exc.strippable_folder or ""
            record.finished_at = timezone.now()
            record.save(update_fields=["status", "error", "strippable_folder", "finished_at"])
            return record
    transaction.on_commit(lambda: current_app.send_task(IMPORT_AUTOGRADER, args=[str(record.pk)]))
    return record


def import_run(*, import_id, abandoned_after_s: float) -> None:
    """Import a queued autograder: build its image, write the lab, load it. Safe to run
    twice: only the delivery that moves the row from queued to running does anything,
    or one that finds it running for longer than ``abandoned_after_s`` (its worker died
    and the broker delivered the message again)."""
    now = timezone.now()
    abandoned = Q(status=Status.RUNNING, started_at__lt=now - timedelta(seconds=abandoned_after_s))
    claimed = (
        AutograderImport.objects.filter(pk=import_id)
        .filter(Q(status=Status.QUEUED) | abandoned)
        .update(status=Status.RUNNING, started_at=now, log="", error="")
    )
    if not claimed:
        log.info("autograder import %s: nothing to do (already taken)", import_id)
        return
    record = AutograderImport.objects.get(pk=import_id)
    logbook = _Log(record.pk)
    try:
        with tempfile.TemporaryDirectory(prefix="downstack-import-") as scratch:
            folder = Path(scratch)
            zip_path = folder / record.archive_name
            with record.archive.open("rb") as stored:
                zip_path.write_bytes(stored.read())
            solution = _written(folder / "solution", record.answer.get("solution", {}))
            starter_files = record.answer.get("starter") or {}
            starter = _written(folder / "starter", starter_files) if starter_files else None
            imported = import_gradescope(
                zip_path,
                labs_dir=settings.LABS_DIR,
                slug=record.slug,
                title=record.title,
                solution=solution,
                starter=starter,
                strip_top_folder=record.strip_top_folder,
                client=docker.from_env(),
                on_log=logbook.line,
            )
        report = labs_sync(root=settings.LABS_DIR)
        logbook.line(f"loaded lab {imported.spec.slug} (image {imported.image})")
        outcome = {"status": Status.IMPORTED, "error": ""}
        if report.errors:
            logbook.line(f"{len(report.errors)} other lab(s) could not be loaded")
    except (GradescopeImportError, AutograderBuildError) as exc:
        outcome = {"status": Status.FAILED, "error": str(exc)}
    except docker.errors.DockerException as exc:
        outcome = {"status": Status.FAILED, "error": f"The Docker engine failed: {exc}"}
    except OSError as exc:  # the labs folder or the stored upload, on this worker
        outcome = {"status": Status.FAILED, "error": f"Could not write the lab: {exc}"}
    finally:
        logbook.close()
    AutograderImport.objects.filter(pk=record.pk).update(
        **outcome, log=logbook.text(), finished_at=timezone.now()
    )


class _Log:
    """The build's lines, written to the row at most every LOG_FLUSH_S while it runs."""

    def __init__(self, pk) -> None:
        self.pk = pk
        self.lines: deque[str] = deque(maxlen=MAX_LOG_LINES)
        self.flushed_at = 0.0
        self.lock = threading.Lock()

    def line(self, text: str) -> None:
        with self.lock:
            self.lines.append(text)
            if time.monotonic() - self.flushed_at >= LOG_FLUSH_S:
                self._flush()

    def text(self) -> str:
        return "\n".join(self.lines)[-MAX_LOG_CHARS:]

    def close(self) -> None:
        with self.lock:
            self._flush()

    def _flush(self) -> None:
        AutograderImport.objects.filter(pk=self.pk).update(log=self.text())
        self.flushed_at = time.monotonic()


def _encoded(files: dict[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data).decode("ascii") for name, data in files.items()}


def _written(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, data in files.items():
        (folder / Path(name).name).write_bytes(base64.b64decode(data))
    return folder
