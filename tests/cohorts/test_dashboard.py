"""The cohort dashboard: heatmap, per-lab figures, risks, skills, and a fixed query count."""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cohorts.charts import bar_chart, heat_class, nice_top
from cohorts.dashboard import PAGE_SIZE, RiskRules, activity, dashboard_build, learner_rows
from cohorts.models import Membership
from grading.models import LabOpening, Submission, progress_from_attempts

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def board_world(cohort, learner, make_user, plain_lab, assign, graded_submission):
    """ada passes lab a (due yesterday) on her third attempt, on time, 2 hours after
    opening it; bob never starts."""
    bob = make_user("bob")
    cohort.add_member(bob, Membership.Role.LEARNER)
    a = assign(cohort, plain_lab("a", skills=["latency", "queues"]), due_in_days=-1)
    b = assign(cohort, plain_lab("b", skills=["queues"]), due_in_days=5)
    opened = a.due_at - timedelta(hours=5)
    LabOpening.objects.create(user=learner, lab=a.lab, first_opened_at=opened)
    tests = [("easy", "passed", "visible"), ("tricky", "failed", "hidden")]
    graded_submission(learner, a.lab, 2, at=opened + timedelta(hours=1), tests=tests)
    graded_submission(learner, a.lab, 6, at=opened + timedelta(hours=1, minutes=30), tests=tests)
    graded_submission(learner, a.lab, 10, at=opened + timedelta(hours=2))
    graded_submission(learner, b.lab, 4, tests=tests)
    return {"a": a, "b": b, "bob": bob}


def test_the_dashboard_figures_for_a_small_cohort(cohort, learner, board_world):
    board = dashboard_build(cohort)
    ada, bob = board.page.rows
    assert (ada.username, bob.username) == ("ada", "bob")
    assert board.learner_count == 2 and board.page.total == 2
    cell_a, cell_b = ada.cells
    assert cell_a.attempts == 3 and cell_a.best == 100.0 and cell_a.attempts_to_pass == 3
    assert cell_a.marks == []  # on time
    assert cell_b.attempts == 1 and cell_b.best == 40.0 and not cell_b.passed
    lab_a, lab_b = board.labs
    assert lab_a.pass_rate == 50.0 and lab_a.median_attempts_to_pass == 3
    assert lab_a.median_hours_to_pass == pytest.approx(2.0)
    assert lab_a.median_time_to_pass == "2.0 h"
    assert lab_a.histogram[9] == 1 and sum(lab_a.histogram) == 1
    assert lab_b.histogram[4] == 1
    # ada's latest attempt at lab a passed everything; at lab b the hidden check fails.
    assert lab_a.failing_checks == []
    assert [(c["name"], c["visibility"], c["failed"]) for c in lab_b.failing_checks] == [
        ("tricky", "hidden", 1)
    ]
    assert sum(n for _, n in board.activity) == 4
    # queues: the mean over learners of the mean of a and b; latency: a only.
    assert board.cohort_skills == {"latency": 50.0, "queues": 35.0}


def test_a_time_to_pass_under_an_hour_reads_in_minutes(cohort, learner, board_world):
    from cohorts.models import Standing

    Standing.objects.filter(user=learner, assignment=board_world["a"]).update(hours_to_pass=0.4)
    assert dashboard_build(cohort).labs[0].median_time_to_pass == "24 min"


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


def risks(cohort, now=None):
    """{username: reasons} for everyone at risk, by the page's rules and by the SQL that
    counts them, which must agree."""
    board = dashboard_build(cohort, now=now)
    assignments = board.assignments
    rules = RiskRules.of(cohort, assignments, now or timezone.now())
    ids = list(cohort.learners().values_list("pk", flat=True))
    rows = learner_rows(cohort, assignments, ids)
    reasons = {r.username: rules.reasons(r, assignments, now or timezone.now()) for r in rows}
    weights = rules.at_risk_weights(cohort, [a.pk for a in assignments])
    assert {r.username for r in rows if weights[r.user_id]} == {u for u in reasons if reasons[u]}
    assert board.at_risk_count == sum(1 for r in reasons.values() if r)
    return {u: r for u, r in reasons.items() if r}


def test_learners_at_risk_each_show_their_reason(cohort, learner, board_world, graded_submission):
    assert risks(cohort) == {}  # one lab past due alone is no alarm
    board_world["b"].due_at = timezone.now() - timedelta(hours=1)
    board_world["b"].save()
    # ada passed a, not yet b: behind on one only.
    assert risks(cohort) == {"bob": ["behind on 2 due labs: Lab a, Lab b"]}
    board_world["b"].due_at = timezone.now() + timedelta(days=5)
    board_world["b"].save()
    Membership.objects.filter(user=board_world["bob"]).update(
        joined_at=timezone.now() - timedelta(days=10)
    )
    lab_b = board_world["b"].lab
    for _ in range(cohort.stuck_attempts):
        graded_submission(learner, lab_b, 1)
    found = risks(cohort)
    stuck = cohort.stuck_attempts + 1
    assert found["ada"] == [f"{stuck} attempts at Lab b without passing (best 40%)"]
    assert found["bob"][0] == "no submission in 10 days since joining"
    Membership.objects.filter(user=learner).update(joined_at=timezone.now() - timedelta(days=30))
    Submission.objects.filter(user=learner).update(created_at=timezone.now() - timedelta(days=9))
    from grading.progress import labprogress_refresh

    for lab in (board_world["a"].lab, lab_b):
        labprogress_refresh(user_id=learner.pk, lab_id=lab.pk)
    assert risks(cohort)["ada"][0] == "inactive for 9 days"


def test_one_missed_closed_deadline_is_a_risk_with_its_reason(
    cohort, learner, make_user, plain_lab, assign, graded_submission
):
    # The case that showed "Nobody": a missed closed lab and a 0 on the other one.
    closed = assign(cohort, plain_lab("c"), due_in_days=-2, policy="close")
    other = assign(cohort, plain_lab("d"), due_in_days=3)
    graded_submission(learner, other.lab, 0)
    graded_submission(learner, closed.lab, 10)  # now: after it closed, so not counted
    due = timezone.localtime(closed.due_at)
    assert risks(cohort) == {
        "ada": [f"missed the closed deadline of Lab c ({due:%d %b}; best counted 0%)"]
    }


def test_instructors_set_the_risk_thresholds_per_cohort(
    client, cohort, instructor, learner, plain_lab, assign, graded_submission
):
    lab = assign(cohort, plain_lab("a")).lab
    for score in (1, 2, 3):
        graded_submission(learner, lab, score)
    assert risks(cohort) == {}
    client.force_login(instructor)
    url = reverse("cohorts:assignments", args=[cohort.pk])
    form = {"action": "settings", "settings-score_policy": "best", "settings-inactive_days": 7}
    refused = client.post(url, {**form, "settings-stuck_attempts": 0, "settings-behind_labs": 1})
    assert refused.status_code == 400
    saved = client.post(url, {**form, "settings-stuck_attempts": 3, "settings-behind_labs": 1})
    assert saved.status_code == 302
    cohort.refresh_from_db()
    assert (cohort.stuck_attempts, cohort.behind_labs) == (3, 1)
    assert risks(cohort) == {"ada": ["3 attempts at Lab a without passing (best 30%)"]}
    page = client.get(reverse("cohorts:dashboard", args=[cohort.pk])).content.decode()
    assert "3 attempts at Lab a without passing (best 30%)" in page
    assert "3 attempts at a lab without passing" in page  # the rule, as set


def test_the_heatmap_sorts_by_name_mean_risk_or_one_lab(cohort, board_world):
    def order(sort):
        return [r.username for r in dashboard_build(cohort, sort=sort).page.rows]

    lab_ids = [a.lab_id for a in board_world.values() if hasattr(a, "lab_id")]
    assert order("name") == ["ada", "bob"]
    assert order("mean") == ["ada", "bob"]
    board_world["b"].due_at = timezone.now() - timedelta(hours=1)
    board_world["b"].save()
    assert order("risk") == ["bob", "ada"]
    assert order(f"lab-{lab_ids[1]}") == ["ada", "bob"]
    assert order("lab-999") == ["ada", "bob"]
    assert dashboard_build(cohort, sort="lab-999").page.sort == "name"


def test_the_heatmap_pages_and_searches_a_large_cohort(
    client, cohort, instructor, board_world, make_user
):
    for i in range(PAGE_SIZE + 5):
        cohort.add_member(make_user(f"zz{i:03d}"), Membership.Role.LEARNER)
    board = dashboard_build(cohort)
    assert board.page.total == PAGE_SIZE + 7 and board.page.pages == 2
    assert [r.username for r in board.page.rows][:2] == ["ada", "bob"]
    second = dashboard_build(cohort, page=2)
    assert [r.username for r in second.page.rows] == [f"zz{i:03d}" for i in range(48, 55)]
    assert dashboard_build(cohort, page=99).page.number == 2  # past the end: the last page
    found = dashboard_build(cohort, query="ZZ05", sort="mean")
    assert [r.username for r in found.page.rows] == ["zz050", "zz051", "zz052", "zz053", "zz054"]
    client.force_login(instructor)
    url = reverse("cohorts:dashboard", args=[cohort.pk])
    page = client.get(url).content.decode()
    assert f"Learners 1–{PAGE_SIZE} of {PAGE_SIZE + 7}" in page
    assert 'href="?sort=name&amp;page=2#heatmap"' in page
    searched = client.get(url, {"q": "zz05", "sort": "mean"}).content.decode()
    assert "Learners 1–5 of 5 matching “zz05”" in searched and "zz050" in searched
    nobody = client.get(url, {"q": "nobody-by-this-name"}).content.decode()
    assert "No learner's name contains “nobody-by-this-name”." in nobody


def test_the_dashboard_page_shows_the_heatmap_charts_and_risks(
    client, cohort, instructor, board_world
):
    client.force_login(instructor)
    page = client.get(reverse("cohorts:dashboard", args=[cohort.pk]) + "?sort=risk").content
    page = page.decode()
    assert page.count("<svg") == 1 + 2  # activity and a histogram per lab
    assert '<th scope="row">queues</th><td><span class="skill-bar" style="--percent: 35%">' in page
    assert "Nobody: everyone is active" in page
    assert "tricky" in page and "submissions" in page and "learners" in page


def test_dashboard_queries_do_not_grow_with_learners_or_submissions(
    client, cohort, instructor, board_world, make_user, graded_submission
):
    client.force_login(instructor)
    url = reverse("cohorts:dashboard", args=[cohort.pk])
    counts = {}
    for size in ("small", "large"):
        if size == "large":
            lab = board_world["a"].lab
            for i in range(12):
                user = make_user(f"more{i:02d}")
                cohort.add_member(user, Membership.Role.LEARNER)
                for score in (3, 7, 10):
                    graded_submission(user, lab, score, tests=[("easy", "passed", "visible")])
        for sort in ("name", "mean", "risk", f"lab-{board_world['a'].lab_id}"):
            cache.clear()  # the summaries too, so every request computes everything
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url, {"sort": sort}).status_code == 200
            counts[size, sort] = len(captured)
    for sort in ("name", "mean", "risk"):
        assert counts["small", sort] == counts["large", sort], counts


def test_a_learner_sees_their_own_skill_mastery(client, cohort, learner, board_world):
    client.force_login(learner)
    page = client.get(reverse("cohorts:my_progress", args=[cohort.pk])).content.decode()
    assert "Your mastery per skill" in page
    assert '<th scope="row">queues</th>' in page and "</span> 70%</td>" in page
    assert '<th scope="row">latency</th>' in page and "</span> 100%</td>" in page
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
