"""A realistic synthetic cohort for demos and benchmarks, written with bulk_create.

Each learner has an ability and each lab a difficulty; a learner's score on a lab climbs
with each attempt (a logistic learning curve with noise) until they pass or give up.
Attempts are spaced minutes to hours apart after the learner first opens the lab, and
the checks that fail are the harder ones, so the dashboard has shapes worth reading.
"""

from __future__ import annotations

import contextlib
import math
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Lab
from cohorts.models import Assignment, Cohort, Membership, Standing
from grading.models import (
    LabOpening,
    LabProgress,
    Submission,
    TestResult,
    progress_from_attempts,
)

SKILLS = (
    "tail-latency",
    "garbage-collection",
    "consistency",
    "partitions",
    "code-review",
    "profiling",
    "queues",
    "caching",
)
CHECKS = ("builds and runs", "handles the sample", "edge cases", "under load", "hidden corner")
BATCH = 5000


@dataclass(frozen=True)
class SynthReport:
    cohort: Cohort
    learners: int
    labs: int
    submissions: int
    tests: int


@contextlib.contextmanager
def _keep_timestamps(*fields):
    """Let bulk_create store our invented times instead of "now" for auto_now_add fields."""
    saved = [(f, f.auto_now_add) for f in fields]
    for f, _ in saved:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f, value in saved:
            f.auto_now_add = value


def _labs(count: int, rng: random.Random) -> list[Lab]:
    labs = list(Lab.objects.active().order_by("slug")[:count])
    for i in range(len(labs), count):
        slug = f"synth-lab-{i + 1:02d}"
        lab, _ = Lab.objects.get_or_create(
            slug=slug,
            defaults={
                "title": f"Synthetic lab {i + 1}",
                "summary": "A generated lab for demos and benchmarks.",
                "skills": rng.sample(SKILLS, 2),
                "difficulty": rng.choice(Lab.Difficulty.values),
                "minutes": rng.choice((20, 30, 45, 60)),
                "submit_files": ["main.py"],
                "image": "downstack-grader:synthetic",
                "timeout_s": 20,
                "memory_mb": 128,
                "cpus": 1.0,
                "pids": 64,
                "instructions_md": "# Synthetic\n",
                "instructions_html": "<h1>Synthetic</h1>",
                "content_hash": "0" * 64,
            },
        )
        labs.append(lab)
    return labs


def cohort_synth(
    *, learners: int, labs: int, attempts: int, name: str | None = None, seed: int = 1
) -> SynthReport:
    """Create a cohort with its learners, assignments, openings, submissions and checks."""
    rng = random.Random(seed)
    now = timezone.now()
    tag = uuid.uuid4().hex[:6]
    with transaction.atomic():
        cohort = Cohort.objects.create(name=name or f"Synthetic cohort {tag}")
        chosen = _labs(labs, rng)
        users = get_user_model().objects.bulk_create(
            [
                get_user_model()(username=f"synth-{tag}-{i:05d}", password="!")
                for i in range(learners)
            ],
            batch_size=BATCH,
        )
        start = now - timedelta(days=24)
        Membership.objects.bulk_create(
            [
                Membership(
                    cohort=cohort,
                    user=u,
                    role=Membership.Role.LEARNER,
                    joined_at=start + timedelta(hours=rng.uniform(0, 48)),
                )
                for u in users
            ],
            batch_size=BATCH,
        )
        assignments = []
        for i, lab in enumerate(chosen):
            opens = start + timedelta(days=3 * i)
            assignments.append(
                Assignment(
                    cohort=cohort,
                    lab=lab,
                    opens_at=opens,
                    due_at=opens + timedelta(days=10),
                    late_policy=rng.choice(Assignment.LatePolicy.values),
                    penalty_per_day=rng.choice((5.0, 10.0, 20.0)),
                )
            )
        Assignment.objects.bulk_create(assignments)
        difficulty = [rng.gauss(0.5, 0.8) for _ in chosen]
        openings, submissions, tests, progress = [], [], [], []
        for user in users:
            ability = rng.gauss(0, 1)
            diligence = rng.random()
            for assignment, lab_difficulty in zip(assignments, difficulty, strict=True):
                if assignment.opens_at > now or rng.random() > 0.55 + 0.45 * diligence:
                    continue
                opened = assignment.opens_at + timedelta(hours=rng.expovariate(1 / 30))
                if opened > now:
                    continue
                openings.append(LabOpening(user=user, lab=assignment.lab, first_opened_at=opened))
                at = opened
                mine = []
                for k in range(rng.randint(1, attempts)):
                    at = at + timedelta(minutes=rng.expovariate(1 / 40) + 2)
                    if at > now:
                        break
                    chance = 1 / (1 + math.exp(-(ability - lab_difficulty + 0.45 * k)))
                    passed_checks = sum(
                        rng.random() < chance ** (1 + 0.4 * c) for c in range(len(CHECKS))
                    )
                    submission = Submission(
                        user=user,
                        lab=assignment.lab,
                        status=Submission.Status.GRADED,
                        created_at=at,
                        enqueued_at=at,
                        started_at=at + timedelta(seconds=rng.uniform(0.2, 4)),
                        finished_at=at + timedelta(seconds=rng.uniform(4, 30)),
                        score=2.0 * passed_checks,
                        max_score=2.0 * len(CHECKS),
                        duration_s=rng.uniform(1, 20),
                        exit_code=0,
                    )
                    submissions.append(submission)
                    mine.append(submission)
                    # The easy checks pass first: check c passes when c < passed_checks.
                    for c, check in enumerate(CHECKS):
                        ok = c < passed_checks
                        tests.append(
                            TestResult(
                                submission=submission,
                                position=c,
                                name=check,
                                score=2.0 if ok else 0.0,
                                max_score=2.0,
                                status="passed" if ok else "failed",
                                output="" if ok else f"{check}: expected more",
                                visibility="hidden" if c == len(CHECKS) - 1 else "visible",
                            )
                        )
                    if passed_checks == len(CHECKS):
                        break
                if mine:
                    fields = progress_from_attempts(
                        ((m.pk, m.created_at, m.status, m.score, m.max_score) for m in mine),
                        opened_at=opened,
                    )
                    progress.append(LabProgress(user=user, lab=assignment.lab, **fields))
        LabOpening.objects.bulk_create(openings, batch_size=BATCH, ignore_conflicts=True)
        with _keep_timestamps(Submission._meta.get_field("created_at")):
            Submission.objects.bulk_create(submissions, batch_size=BATCH)
        TestResult.objects.bulk_create(tests, batch_size=BATCH)
        LabProgress.objects.bulk_create(progress, batch_size=BATCH)
        # bulk_create sends no signals: count the work as the write paths would.
        Standing.objects.refresh(assignments)
    # Fresh planner statistics after a bulk load, as autovacuum would give a live site;
    # without them PostgreSQL plans the cohort's queries for empty tables.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return SynthReport(cohort, len(users), len(chosen), len(submissions), len(tests))
