"""`labs grade`: grade a learner's files from a folder or a zip exactly as a submission.

The files pass the upload form's rules (grading.uploads), the lab's starter fills in what
a folder lacks, and the checker runs in the real sandbox with the lab's checker files,
limits and seed. The outcome is the same plain fields grading stores for a submission,
so the API's serializer can show it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import graders
from catalog import patches
from catalog.labfiles import LabSpec
from catalog.models import Lab
from catalog.sandbox import checker_inputs, sandbox_options
from grading import intake, pipeline
from grading.models import Submission
from grading.uploads import SubmissionRejected, check_files, files_from_zip


@dataclass(frozen=True)
class LearnerFiles:
    """What will be submitted, and where each name came from."""

    files: dict[str, bytes]
    base: str  # where the files a folder lacks come from
    given: tuple[str, ...]  # taken from the folder or zip
    filled_in: tuple[str, ...]  # missing there, taken from `base`
    ignored: tuple[str, ...]  # in the folder, but not files this lab takes


@dataclass(frozen=True)
class GradeOutcome:
    """One grading run of unsaved files, as the fields a submission would store."""

    seed: int | None
    outcome: dict  # status, score, max_score, feedback, status_detail
    facts: dict  # image, exit code, duration, memory, timed out, OOM, truncated, log
    tests: list[dict]
    error: str | None  # why the grader failed, for staff; None when it did not

    @property
    def graded(self) -> bool:
        return self.outcome["status"] == Submission.Status.GRADED

    @property
    def passed(self) -> bool:
        return self.graded and graders.is_full_marks(
            self.outcome["score"], self.outcome["max_score"]
        )


def learner_files(spec: LabSpec, source: Path, *, base: str = "starter") -> LearnerFiles:
    """The files to grade from `source`, a folder or a zip.

    A zip is read exactly as the upload form reads one, so it is refused for the same
    reasons with the same words, and must hold every file the lab takes. A folder is a
    learner's working copy, which holds the lab's other files too: those are listed as
    ignored, and submitted files it lacks come from `base`; a `<file>.diff` in it (as a
    variant holds) is applied to the base's `<file>`. Raises SubmissionRejected
    for files the platform would refuse and OSError for files that cannot be read.
    """
    rules = intake.upload_rules(
        # Unsaved: only the fields the upload rules read, so an unsynced lab works too.
        Lab(slug=spec.slug, submit_files=list(spec.submit), upload_kb=spec.upload_kb)
    )
    files = spec.submitted_files(base)
    if source.is_dir():
        given, ignored = {}, []
        for entry in sorted(source.iterdir()):
            target = entry.name.removesuffix(patches.SUFFIX)
            if entry.name in spec.submit and entry.is_file():
                given[entry.name] = entry.read_bytes()
            elif target != entry.name and target in files and entry.is_file():
                given[target] = _patched(files[target], entry)
            else:
                ignored.append(entry.name + ("/" if entry.is_dir() else ""))
    else:
        given, ignored = files_from_zip(source.read_bytes(), rules), []
    files.update(given)
    files = check_files(files, rules)
    return LearnerFiles(
        files=files,
        base=base,
        given=tuple(sorted(given)),
        filled_in=tuple(sorted(set(files) - set(given))),
        ignored=tuple(ignored),
    )


def _patched(original: bytes, diff_file: Path) -> bytes:
    """The base's file with a variant's diff of it applied, as `labs check` applies it."""
    try:
        return patches.apply_bytes(original, diff_file.read_bytes())
    except patches.PatchError as error:
        raise SubmissionRejected(f"{diff_file.name} does not apply: {error}") from None


def grading_seed(spec: LabSpec, seed: int | None) -> int | None:
    """The seed a run gets: the one asked for, else the lab's check_seed if it is seeded."""
    if seed is not None:
        return seed
    return spec.check_seed if spec.seeded else None


def lab_grade(spec: LabSpec, files: dict[str, bytes], *, seed: int | None = None) -> GradeOutcome:
    """Grade files in the sandbox as a submission of this lab. Raises
    graders.InfrastructureError when Docker fails and OSError when the lab's checker
    files cannot be read: neither is a verdict on the files."""
    options = sandbox_options(spec)
    checker = checker_inputs(spec, spec.path, spec.include)
    seed = grading_seed(spec, seed)
    # What a submission's checker gets; the id is fresh, as a new submission's is.
    env = pipeline.checker_env(submission_id=uuid.uuid4(), seed=seed)
    result = graders.run(checker=checker, submission=files, env=env, **options)
    outcome = graders.Outcome.of(result, partial_on_timeout=spec.partial_on_timeout)
    return GradeOutcome(
        seed=seed,
        outcome=pipeline.outcome_fields(outcome),
        facts=pipeline.run_facts(options["image"], result),
        tests=outcome.test_rows(),
        error=outcome.error,
    )
