"""What a Gradescope autograder's results show, and to whom: formats made safe, checks
that open when grades are published, the autograder's own output as its results allow,
extra data for staff, and the leaderboard under chosen names or pseudonyms."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Assignment, Cohort, Membership
from grading import leaderboard
from grading.intake import submission_create
from grading.models import Submission, TestResult

pytestmark = pytest.mark.django_db


def graded(user, lab, *, extras=None, tests=(), feedback="", feedback_format="md", when=None):
    """A graded submission stored without Docker, as the pipeline stores one."""
    submission = submission_create(user=user, lab=lab, files={"logparse.py": b"print(1)\n"})
    Submission.objects.filter(pk=submission.pk).update(
        status="graded",
        score=1,
        max_score=2,
        feedback=feedback,
        feedback_format=feedback_format,
        extras=extras or {},
        grader_log="AUTOGRADER-STDOUT line",
        **({"created_at": when} if when else {}),
    )
    for position, fields in enumerate(tests):
        defaults = {"score": 1, "max_score": 1, "status": "passed", "visibility": "visible"}
        row = {**defaults, **fields}
        TestResult.objects.create(submission=submission, position=position, **row)
    return Submission.objects.get(pk=submission.pk)


def page(client, user, submission) -> str:
    client.force_login(user)
    response = client.get(submission.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_outputs_and_names_are_shown_in_their_format_and_made_safe(
    client, learner, hello_lab
) -> None:
    submission = graded(
        learner,
        hello_lab,
        feedback="<b>Overall</b><script>alert(1)</script>",
        feedback_format="html",
        tests=[
            {"name": "md *name*", "name_format": "md", "output": "**bold**", "output_format": "md"},
            {
                "name": "html",
                "output": '<i>it</i><img src="https://tracker.example/x">'
                '<a href="javascript:x">l</a>',
                "output_format": "html",
            },
            {"name": "ansi", "output": "\x1b[32mgreen\x1b[0m plain", "output_format": "ansi"},
            {"name": "simple", "output": "one\ntwo\n\nthree <b>", "output_format": "simple_format"},
            {"name": "<b>text</b>", "output": "<b>as text</b>"},
        ],
    )

    text = page(client, learner, submission)

    assert "<b>Overall</b>" in text and "alert(1)" not in text
    assert "md <em>name</em>" in text and "<strong>bold</strong>" in text
    assert "<i>it</i>" in text and "tracker.example" not in text and "javascript:" not in text
    assert '<span class="ansi-green">green</span> plain' in text and "\x1b" not in text
    assert "<p>one<br>two</p><p>three &lt;b&gt;</p>" in text
    assert "&lt;b&gt;text&lt;/b&gt;" in text and "<pre>&lt;b&gt;as text&lt;/b&gt;</pre>" in text


def test_after_published_checks_open_when_the_instructor_publishes_and_close_again(
    client, learner, staff, make_user, hello_lab
) -> None:
    teacher = make_user("tess")
    cohort = Cohort.objects.create(name="Spring")
    Membership.objects.create(cohort=cohort, user=learner, role=Membership.Role.LEARNER)
    Membership.objects.create(cohort=cohort, user=teacher, role=Membership.Role.INSTRUCTOR)
    now = timezone.now()
    assignment = Assignment.objects.create(
        cohort=cohort, lab=hello_lab, opens_at=now - timedelta(days=1), due_at=now
    )
    submission = graded(
        learner,
        hello_lab,
        tests=[{"name": "PUBLISHED-ONLY check", "visibility": "after_published"}],
    )
    assert "PUBLISHED-ONLY" not in page(client, learner, submission)

    client.force_login(teacher)
    url = reverse("cohorts:assignments", args=[cohort.pk])
    assert "Publish grades of" in client.get(url).content.decode()
    response = client.post(url, {"action": "publish", "assignment": assignment.pk})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.grades_published_at is not None
    assert "PUBLISHED-ONLY" in page(client, learner, submission)

    client.force_login(teacher)
    client.post(url, {"action": "unpublish", "assignment": assignment.pk})
    assert "PUBLISHED-ONLY" not in page(client, learner, submission)


def test_the_autograder_s_output_is_the_learner_s_only_when_its_results_say_so(
    client, learner, staff, hello_lab
) -> None:
    hidden = graded(learner, hello_lab, extras={"extra_data": {"SECRET-DATA": 1}})
    shown = graded(learner, hello_lab, extras={"stdout_visibility": "visible"})

    assert "AUTOGRADER-STDOUT" not in page(client, learner, hidden)
    assert "SECRET-DATA" not in page(client, learner, hidden)
    assert "Autograder output" in page(client, learner, shown)
    assert "AUTOGRADER-STDOUT" in page(client, learner, shown)
    staff_view = page(client, staff, hidden)
    assert "SECRET-DATA" in staff_view and "AUTOGRADER-STDOUT" in staff_view


def board_row(*entries):
    return {"leaderboard": [dict(name=n, value=v, order=o) for n, v, o in entries]}


def test_the_leaderboard_ranks_each_learner_s_latest_row_under_chosen_names_or_pseudonyms(
    client, learner, other_learner, staff, make_user, hello_lab
) -> None:
    third = make_user("third")
    earlier = timezone.now() - timedelta(hours=1)
    graded(learner, hello_lab, extras=board_row(("Accuracy", 0.99, "desc")), when=earlier)
    graded(learner, hello_lab, extras=board_row(("Accuracy", 0.5, "desc"), ("Time", 3, "asc")))
    graded(other_learner, hello_lab, extras=board_row(("Accuracy", 0.9, "desc")))
    graded(third, hello_lab, extras=board_row(("Accuracy", "n/a", "desc")))
    graded(make_user("nobody"), hello_lab)  # reported no row
    leaderboard.name_choose(user=other_learner, lab=hello_lab, name="Fast Fingers")

    board = leaderboard.board(hello_lab, learner)

    assert board.columns == ("Accuracy", "Time")
    assert [(row.name, row.cells) for row in board.rows] == [
        ("Fast Fingers", (("Accuracy", 0.9), ("Time", None))),
        (leaderboard.pseudonym(learner.pk, hello_lab.pk), (("Accuracy", 0.5), ("Time", 3))),
        (leaderboard.pseudonym(third.pk, hello_lab.pk), (("Accuracy", "n/a"), ("Time", None))),
    ]
    assert [row.mine for row in board.rows] == [False, True, False]
    client.force_login(learner)
    text = client.get(reverse("grading:leaderboard", args=[hello_lab.slug])).content.decode()
    table = text.split("<table", 1)[1].split("</table>", 1)[0]
    assert "Fast Fingers" in table and "(you)" in table
    for username in ("ada", "linus", "third"):
        assert username not in table
    client.force_login(staff)
    text = client.get(reverse("grading:leaderboard", args=[hello_lab.slug])).content.decode()
    assert ">linus<" in text  # staff see whose row is whose
    hello_lab.dialect = "gradescope"  # a Gradescope autograder's lab links to its board
    hello_lab.save()
    lab_page = client.get(hello_lab.get_absolute_url()).content.decode()
    assert reverse("grading:leaderboard", args=[hello_lab.slug]) in lab_page


def test_a_leaderboard_name_is_unique_per_lab_whatever_its_case_and_refused_clearly(
    client, learner, other_learner, hello_lab
) -> None:
    leaderboard.name_choose(user=learner, lab=hello_lab, name="  Team   Rocket ")
    url = reverse("grading:leaderboard", args=[hello_lab.slug])
    client.force_login(other_learner)

    taken = client.post(url, {"name": "team rocket"})
    reserved = client.post(url, {"name": "Anonymous 123abc"})
    bad = client.post(url, {"name": "<script>"})

    assert taken.status_code == 400 and "is taken" in taken.content.decode()
    assert "kept for learners without one" in reserved.content.decode()
    assert "Use 1 to 40 letters" in bad.content.decode()
    assert 'value="team rocket"' in taken.content.decode()  # what was typed is kept
    assert client.post(url, {"name": "Rocket Two"}).status_code == 302
    assert leaderboard.pseudonym(learner.pk, hello_lab.pk) != leaderboard.pseudonym(
        other_learner.pk, hello_lab.pk
    )
