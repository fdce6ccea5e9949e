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


@pytest.fixture
def late_world(cohort, learner, make_user, plain_lab, assign, graded_submission):
    """Two labs: `pen` takes late work at 10 points a day, `shut` closes at its due date.

    ada hands in `pen` on time at 50% and two days late at 100% (counted 80, late); on
    `shut` she scores 35% on time and 100% after it closed (not counted). bob's only
    attempt at `shut` came after it closed: the heatmap once showed its 35 while the
    gradebook left it blank.
    """
    day = timedelta(days=1)
    bob = make_user("bob")
    cohort.add_member(bob, Membership.Role.LEARNER)
    pen = assign(cohort, plain_lab("pen"), due_in_days=-5, policy="penalty", penalty=10)
    shut = assign(cohort, plain_lab("shut"), due_in_days=-5, policy="close")
    graded_submission(learner, pen.lab, 5, at=pen.due_at - day)
    graded_submission(learner, pen.lab, 10, at=pen.due_at + day + timedelta(hours=2))
    graded_submission(learner, shut.lab, 3.5, at=shut.due_at - day)
    graded_submission(learner, shut.lab, 10, at=shut.due_at + timedelta(hours=3))
    graded_submission(bob, shut.lab, 3.5, at=shut.due_at + timedelta(hours=1))
    return {"pen": pen, "shut": shut, "bob": bob}
