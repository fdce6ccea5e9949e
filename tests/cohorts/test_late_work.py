"""Late work reads the same on every page and in both exports, with the reason (the
cohort is conftest.late_world's)."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse

from cohorts.dashboard import dashboard_build
from cohorts.models import Cohort, Membership, Standing

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_every_page_and_export_counts_late_work_alike_and_says_why(
    client, cohort, instructor, learner, late_world
):
    # The dashboard's cells.
    ada, bob = dashboard_build(cohort).page.rows
    pen, shut = ada.cells
    assert (pen.best, pen.days_late, pen.marks[0][0]) == (80.0, 2, "late")
    assert (shut.best, shut.uncounted_attempts) == (35.0, 1)
    assert shut.marks == [("not counted", shut.uncounted_note)]
    assert bob.cells[1].best is None and bob.cells[1].attempts == 1

    client.force_login(instructor)
    board = text(client.get(reverse("cohorts:dashboard", args=[cohort.pk])))
    assert board.count('class="late"') >= 3 + 2  # ada's two marks, bob's, and the legend's
    assert 'title="the counted attempt was 2 days late, with the penalty taken">late<' in board
    assert "+1 not counted</span>" in board
    assert "1 attempt after the lab closed at its due date: not counted" in board

    # The gradebook CSV: the same numbers, and the same reasons in words.
    rows = list(
        csv.reader(
            io.StringIO(text(client.get(reverse("cohorts:gradebook_csv", args=[cohort.pk]))))
        )
    )
    assert rows[0] == ["learner", "pen (%)", "shut (%)", "late work"]
    assert rows[1][:3] == ["ada", "80.00", "35.00"]
    assert rows[1][3] == (
        "pen: the counted attempt was 2 days late, with the penalty taken; "
        "shut: 1 attempt after the lab closed at its due date: not counted"
    )
    assert rows[2] == [
        "bob",
        "",
        "",
        "shut: 1 attempt after the lab closed at its due date: not counted",
    ]

    # The results JSON: every attempt, with how it counts.
    data = json.loads(text(client.get(reverse("cohorts:results_json", args=[cohort.pk]))))
    mine = {(r["learner"], r["lab"], r["percent"]): r for r in data["results"]}
    assert mine["ada", "pen", 100.0]["counted_percent"] == 80.0
    assert mine["ada", "pen", 100.0]["late_work"] == "2 days late: −20 points"
    assert mine["ada", "shut", 100.0]["counted"] is False
    assert mine["bob", "shut", 35.0]["late_work"] == "1 day late, after the lab closed: not counted"
    assert mine["ada", "pen", 50.0]["late_work"] == "" and mine["ada", "pen", 50.0]["counted"]

    # The drill-down: each attempt says how it counts, and the summary agrees.
    drill = text(client.get(reverse("cohorts:learner", args=[cohort.pk, learner.pk])))
    assert "2 days late: −20 points, counts 80%" in drill
    assert "1 day late, after the lab closed: not counted" in drill
    assert "80%" in drill and "35%" in drill

    # The learner's own progress page.
    client.force_login(learner)
    progress = text(client.get(reverse("cohorts:my_progress", args=[cohort.pk])))
    assert "80%" in progress and "35%" in progress
    assert "the counted attempt was 2 days late, with the penalty taken" in progress
    assert "1 attempt after the lab closed at its due date: not counted" in progress


def test_the_last_attempt_policy_is_read_the_same_everywhere(
    client, cohort, instructor, learner, late_world, graded_submission
):
    # A last, worse attempt at pen: under "last" it is what counts.
    graded_submission(learner, late_world["pen"].lab, 6, at=late_world["pen"].due_at + 3 * DAY)
    Cohort.objects.filter(pk=cohort.pk).update(score_policy="last")
    cohort.refresh_from_db()
    ada = dashboard_build(cohort).page.rows[0]
    assert ada.cells[0].best == 30.0 and ada.cells[0].days_late == 3
    client.force_login(instructor)
    book = text(client.get(reverse("cohorts:gradebook_csv", args=[cohort.pk])))
    assert book.splitlines()[1].startswith("ada,30.00,35.00,")


def test_standings_follow_a_changed_due_date_a_new_member_and_a_removed_one(
    cohort, learner, late_world, make_user, graded_submission
):
    pen = late_world["pen"]
    pen.due_at = pen.due_at + 10 * DAY  # every attempt is on time now
    pen.save()
    row = Standing.objects.get(assignment=pen, user=learner)
    assert (row.counted_best, row.best_days_late, row.late_attempts) == (100.0, 0, 0)

    cy = make_user("cy")
    graded_submission(cy, pen.lab, 7)  # before joining: practice, counted once they join
    cohort.add_member(cy, Membership.Role.LEARNER)
    assert Standing.objects.get(assignment=pen, user=cy).counted_best == 70.0

    Membership.objects.filter(cohort=cohort, user=cy).delete()
    assert not Standing.objects.filter(user=cy).exists()


def test_work_graded_in_the_pipeline_updates_the_standing(cohort, learner, late_world):
    from grading.models import Submission
    from grading.progress import labprogress_refresh

    shut = late_world["shut"]
    on_time = Submission.objects.filter(user=learner, lab=shut.lab, score=3.5).get()
    Submission.objects.filter(pk=on_time.pk).update(score=9.0)  # a regrade, say
    labprogress_refresh(user_id=learner.pk, lab_id=shut.lab_id)
    assert Standing.objects.get(assignment=shut, user=learner).counted_best == 90.0
