"""Fixtures for cohorts: a cohort with an instructor and learners, and graded work stored
without Docker (the grading pipeline itself is tested in tests/grading)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cohorts.models import Assignment, Cohort, Membership
from grading.models import Submission, TestResult
from grading.progress import labprogress_refresh


@pytest.fixture
def instructor(make_user):
    return make_user("turing")


@pytest.fixture
def other_instructor(make_user):
    return make_user("hopper")


@pytest.fixture
def cohort(instructor, learner):
    cohort = Cohort.objects.create(name="Spring systems")
    cohort.add_member(instructor, Membership.Role.INSTRUCTOR)
    cohort.add_member(learner, Membership.Role.LEARNER)
    return cohort


@pytest.fixture
def other_cohort(other_instructor, other_learner):
    cohort = Cohort.objects.create(name="Autumn systems")
    cohort.add_member(other_instructor, Membership.Role.INSTRUCTOR)
    cohort.add_member(other_learner, Membership.Role.LEARNER)
    return cohort


@pytest.fixture
def assign():
    def make(cohort, lab, *, due_in_days=7, policy="penalty", penalty=10.0):
        now = timezone.now()
        return Assignment.objects.create(
            cohort=cohort,
            lab=lab,
            opens_at=now - timedelta(days=30),
            due_at=now + timedelta(days=due_in_days),
            late_policy=policy,
            penalty_per_day=penalty,
        )

    return make


@pytest.fixture
def graded_submission():
    """Factory: a graded submission with the given check rows, at a chosen time."""

    def make(user, lab, score, *, max_score=10.0, at=None, tests=()):
        submission = Submission.objects.create(
            user=user,
            lab=lab,
            status=Submission.Status.GRADED,
            score=score,
            max_score=max_score,
            finished_at=timezone.now(),
        )
        if at is not None:
            Submission.objects.filter(pk=submission.pk).update(created_at=at)
        for i, (name, status, visibility) in enumerate(tests):
            TestResult.objects.create(
                submission=submission,
                position=i,
                name=name,
                score=1 if status == "passed" else 0,
                max_score=1,
                status=status,
                output=f"output of {name}",
                visibility=visibility,
            )
        labprogress_refresh(user_id=user.pk, lab_id=lab.pk)
        submission.refresh_from_db()
        return submission

    return make


@pytest.fixture
def plain_lab(db):
    """Factory: a Lab row without files on disk, for pages that never grade it."""
    from catalog.models import Lab

    def make(slug, *, skills=("testing",)):
        return Lab.objects.create(
            slug=slug,
            title=f"Lab {slug}",
            summary="For tests.",
            skills=list(skills),
            difficulty="intro",
            minutes=5,
            submit_files=["main.py"],
            image="none",
            timeout_s=5,
            memory_mb=64,
            cpus=1,
            pids=16,
            instructions_md="",
            instructions_html="",
            content_hash="0",
        )

    return make
