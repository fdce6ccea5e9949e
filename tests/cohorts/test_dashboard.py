"""The cohort dashboard: heatmap, per-lab figures, risks, skills, and a fixed query count."""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cohorts.charts import bar_chart, heat_class, nice_top
from cohorts.dashboard import STUCK_ATTEMPTS, activity, dashboard_build, sort_learners
from cohorts.models import Membership
from grading.models import LabOpening, Submission, progress_from_attempts

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def board_world(cohort, learner, make_user, plain_lab, assign, graded_submission):
    """ada passes lab a on her third attempt, 2 hours after opening it; bob never starts."""
    bob = make_user("bob")
    cohort.add_member(bob, Membership.Role.LEARNER)
    a = assign(cohort, plain_lab("a", skills=["latency", "queues"]), due_in_days=-1)
    b = assign(cohort, plain_lab("b", skills=["queues"]), due_in_days=5)
    opened = timezone.now() - timedelta(hours=5)
    LabOpening.objects.create(user=learner, lab=a.lab, first_opened_at=opened)
    tests = [("easy", "passed", "visible"), ("tricky", "failed", "hidden")]
    graded_submission(learner, a.lab, 2, at=opened + timedelta(hours=1), tests=tests)
    graded_submission(learner, a.lab, 6, at=opened + timedelta(hours=1, minutes=30), tests=tests)
    graded_submission(learner, a.lab, 10, at=opened + timedelta(hours=2))
    graded_submission(learner, b.lab, 4, tests=tests)
    return {"a": a, "b": b, "bob": bob}


def test_the_dashboard_figures_for_a_small_cohort(cohort, learner, board_world):
    board = dashboard_build(cohort)
    ada, bob = board.learners
    assert (ada.username, bob.username) == ("ada", "bob")
    cell_a, cell_b = ada.cells
    assert cell_a.attempts == 3 and cell_a.best == 100.0 and cell_a.attempts_to_pass == 3
    assert cell_b.attempts == 1 and cell_b.best == 40.0 and not cell_b.passed
    lab_a, lab_b = board.labs
    assert lab_a.pass_rate == 50.0 and lab_a.median_attempts_to_pass == 3
    assert lab_a.median_hours_to_pass == pytest.approx(2.0)
    assert lab_a.histogram[9] == 1 and sum(lab_a.histogram) == 1
    assert lab_b.histogram[4] == 1
    # ada's latest attempt at lab a passed everything; at lab b the hidden check fails.
    assert lab_a.failing_checks == []
    assert [(c["name"], c["visibility"], c["failed"]) for c in lab_b.failing_checks] == [
        ("tricky", "hidden", 1)
    ]
    assert sum(n for _, n in board.activity) == 4
    # queues: mean of a (100) and b (40); latency: a only.
    assert ada.skills == {"latency": 100.0, "queues": 70.0}
    assert board.cohort_skills == {"latency": 50.0, "queues": 35.0}


def test_activity_counts_submissions_per_utc_day_with_empty_days_as_zero(
    cohort, learner, plain_lab, assign, graded_submission
):
    lab = assign(cohort, plain_lab("a")).lab
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    for at in (
        datetime(2026, 3, 8, 23, 59, tzinfo=UTC),
        datetime(2026, 3, 9, 0, 1, tzinfo=UTC),
        datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 10, 11, 0, tzinfo=UTC),
        datetime(2026, 2, 10, 11, 0, tzinfo=UTC),  # before the window
    ):
        graded_submission(learner, lab, 5, at=at)

    days = activity(cohort, [lab.pk], now=now, days=4)

    assert days == [
        (date(2026, 3, 7), 0),
        (date(2026, 3, 8), 1),
        (date(2026, 3, 9), 2),
        (date(2026, 3, 10), 1),
    ]


def test_learners_at_risk_each_show_their_reason(cohort, learner, board_world, graded_submission):
    ada, bob = dashboard_build(cohort).learners
    assert ada.risks == [] and bob.risks == []  # one lab past due alone is no alarm
    board_world["b"].due_at = timezone.now() - timedelta(hours=1)
    board_world["b"].save()
    ada, bob = dashboard_build(cohort).learners
    assert ada.risks == []  # passed a, not yet b: behind on one only
    assert bob.risks == ["behind on 2 due labs: Lab a, Lab b"]
    board_world["b"].due_at = timezone.now() + timedelta(days=5)
    board_world["b"].save()
    Membership.objects.filter(user=board_world["bob"]).update(
        joined_at=timezone.now() - timedelta(days=10)
    )
    lab_b = board_world["b"].lab
    for _ in range(STUCK_ATTEMPTS):
        graded_submission(learner, lab_b, 1)
    ada, bob = dashboard_build(cohort).learners
    assert ada.risks == [f"{STUCK_ATTEMPTS + 1} attempts at Lab b without passing (best 40%)"]
    assert bob.risks[0] == "no submission in 10 days since joining"
    Submission.objects.filter(user=learner).update(created_at=timezone.now() - timedelta(days=9))
    from grading.progress import labprogress_refresh

    for lab in (board_world["a"].lab, lab_b):
        labprogress_refresh(user_id=learner.pk, lab_id=lab.pk)
    ada, _ = dashboard_build(cohort).learners
    assert ada.risks[0] == "inactive for 9 days"


def test_the_heatmap_sorts_by_name_mean_risk_or_one_lab(cohort, board_world):
    board = dashboard_build(cohort)
    lab_ids = [a.lab_id for a in board.assignments]
    assert [r.username for r in sort_learners(board.learners, "mean", lab_ids)] == ["ada", "bob"]
    assert [r.username for r in sort_learners(board.learners, "risk", lab_ids)] == ["bob", "ada"]
    sort = f"lab-{lab_ids[1]}"
    assert [r.username for r in sort_learners(board.learners, sort, lab_ids)] == ["ada", "bob"]
    assert [r.username for r in sort_learners(board.learners, "lab-999", lab_ids)] == [
        "ada",
        "bob",
    ]


def test_the_dashboard_page_shows_the_heatmap_charts_and_risks(
    client, cohort, instructor, board_world
):
    client.force_login(instructor)
    page = client.get(reverse("cohorts:dashboard", args=[cohort.pk]) + "?sort=risk").content
    page = page.decode()
    assert page.count("<svg") == 2 + 2  # activity, skills, and a histogram per lab
    assert "Nobody: everyone is active" in page
    assert "tricky" in page and "submissions" in page and "learners" in page


def test_dashboard_queries_do_not_grow_with_learners_or_submissions(
    client, cohort, instructor, board_world, make_user, graded_submission
):
    client.force_login(instructor)
    url = reverse("cohorts:dashboard", args=[cohort.pk])
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    lab = board_world["a"].lab
    for i in range(12):
        user = make_user(f"more{i:02d}")
        cohort.add_member(user, Membership.Role.LEARNER)
        for score in (3, 7, 10):
            graded_submission(user, lab, score, tests=[("easy", "passed", "visible")])
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small)


def test_a_learner_sees_their_own_skill_mastery(client, cohort, learner, board_world):
    client.force_login(learner)
    page = client.get(reverse("cohorts:my_progress", args=[cohort.pk])).content.decode()
    assert "Your mastery per skill" in page
    assert "queues: 70%" in page and "latency: 100%" in page
    assert "past due" not in page  # lab a is past due but passed


def test_progress_counts_graded_attempts_and_the_first_pass():
    t = timezone.now()
    rows = [
        ("s1", t, "graded", 2.0, 10.0),
        ("s2", t + timedelta(minutes=1), "error", None, None),
        ("s3", t + timedelta(minutes=2), "graded", 0.0, None),  # ran out of time: 0
        ("s4", t + timedelta(minutes=3), "graded", 10.0, 10.0),
        ("s5", t + timedelta(minutes=4), "graded", 9.0, 10.0),
    ]
    progress = progress_from_attempts(rows, opened_at=t - timedelta(minutes=27))
    assert progress["attempts"] == 4 and progress["attempts_to_pass"] == 3
    assert progress["best_percent"] == 100.0 and progress["latest_graded_id"] == "s5"
    assert progress["first_pass_at"] == t + timedelta(minutes=3)
    assert progress["hours_to_pass"] == pytest.approx(0.5)
    # No opening, or one after the pass (a learner who submitted through the API first):
    # no time to pass.
    assert progress_from_attempts(rows)["hours_to_pass"] is None
    late = progress_from_attempts(rows, opened_at=t + timedelta(hours=1))
    assert late["hours_to_pass"] is None


def test_chart_axes_round_up_and_the_colour_scale_darkens_with_the_score():
    assert nice_top(7) == 10 and nice_top(11) == 20 and nice_top(0) == 1
    chart = bar_chart([0, 5, 10], ["a", "b", "c"], title="t", x_title="x", y_title="y")
    heights = [bar.height for bar in chart["bars"]]
    assert heights[0] == 0 and heights[2] == 2 * heights[1]
    assert [t["label"] for t in chart["ticks"]] == ["0", "5", "10"]
    assert [heat_class(p) for p in (0, 4.9, 5, 50, 99, 100, 120)] == [
        "h0",
        "h0",
        "h0",
        "h5",
        "h10",
        "h10",
        "h10",
    ]
    assert heat_class(None) == ""
    css = (ROOT / "static" / "css" / "downstack.css").read_text()
    lightness = [
        int(re.search(rf"\.h{i} {{ background: hsl\(212 70% (\d+)%", css)[1]) for i in range(11)
    ]
    assert lightness == sorted(lightness, reverse=True)  # darker for higher scores
