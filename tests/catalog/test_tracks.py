"""Tracks: the files beside the labs, `labs sync` loading them, the learner's place on
each in the catalog and on a lab's page, a track that locks, and a cohort assigning one."""

import shutil
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog import tracks
from catalog.labfiles import LabFormatError, discover_labs, load_lab
from catalog.models import Track
from catalog.sync import labs_sync
from catalog.trackfiles import discover_tracks, load_track
from grading.intake import submission_create
from grading.models import Submission
from grading.uploads import SubmissionRejected
from tests.passes import graded

ROOT = Path(__file__).resolve().parents[2]
REPO_LABS = {path.name for path in discover_labs(ROOT / "labs")}


def test_the_four_tracks_load_and_every_lab_is_on_one() -> None:
    specs = [load_track(path, REPO_LABS) for path in discover_tracks(ROOT / "tracks")]

    assert [spec.title for spec in sorted(specs, key=lambda s: s.position)] == [
        "Tail latency and performance",
        "Distributed data and consistency",
        "Reviewing AI-written code",
        "AI infrastructure",
    ]
    on_tracks = {step.lab for spec in specs for step in spec.steps}
    assert on_tracks == REPO_LABS, f"labs on no track: {REPO_LABS - on_tracks}"
    for spec in specs:
        for step in spec.steps:
            load_lab(ROOT / "labs" / step.lab)  # each names a lab that loads


@pytest.mark.parametrize(
    "text, field, message",
    [
        ('title = "t"\nsummary = "s"\nlabs = []\n', "labs", "at least one lab"),
        ('title = "t"\nsummary = "s"\ncolour = 1\n[[labs]]\nslug = "a-lab"\n', "colour", "known"),
        ('title = "t"\nsummary = "s"\n[[labs]]\nslug = "no-such"\n', "labs[1].slug", "no lab"),
        (
            'title = "t"\nsummary = "s"\n[[labs]]\nslug = "a-lab"\n[[labs]]\nslug = "a-lab"\n',
            "labs[2].slug",
            "twice",
        ),
        (
            'title = "t"\nsummary = "s"\n[[labs]]\nslug = "a-lab"\nafter = ["b-lab"]\n'
            '[[labs]]\nslug = "b-lab"\n',
            "labs[1].after",
            "not a lab earlier",
        ),
        ('summary = "s"\n[[labs]]\nslug = "a-lab"\n', "title", "required"),
        ('title = "t"\nsummary = "s"\nlock = "yes"\n[[labs]]\nslug = "a-lab"\n', "lock", "bool"),
    ],
)
def test_a_malformed_track_names_its_file_and_field(tmp_path, text, field, message) -> None:
    path = tmp_path / "my-track.toml"
    path.write_text(text)
    with pytest.raises(LabFormatError) as caught:  # TrackFormatError is one too
        load_track(path, {"a-lab", "b-lab"})
    assert caught.value.field == field and message in str(caught.value)


@pytest.fixture
def two_labs(db, labs_dir):
    """hello-sandbox and gc-p99-spike, with a track file beside the labs folder."""
    for slug in ("hello-sandbox", "gc-p99-spike"):
        shutil.copytree(ROOT / "labs" / slug, labs_dir / slug)
    folder = labs_dir.parent / "tracks"
    folder.mkdir()
    return folder


def track_file(folder: Path, *, lock=False) -> Path:
    path = folder / "tail.toml"
    path.write_text(
        'title = "Tail latency"\nsummary = "Where the time goes."\n'
        f"lock = {'true' if lock else 'false'}\n"
        '[[labs]]\nslug = "hello-sandbox"\n'
        '[[labs]]\nslug = "gc-p99-spike"\nafter = ["hello-sandbox"]\n'
    )
    return path


def test_labs_sync_loads_updates_and_retires_tracks_and_keeps_a_broken_one(
    two_labs, labs_dir
) -> None:
    path = track_file(two_labs)
    first = labs_sync(root=labs_dir)
    again = labs_sync(root=labs_dir)
    path.write_text(path.read_text().replace("Tail latency", "Tail latency, again"))
    updated = labs_sync(root=labs_dir)
    path.write_text("title = \n")
    broken = labs_sync(root=labs_dir)

    assert first.tracks == [("added", "tail")] and again.tracks == [("unchanged", "tail")]
    assert updated.tracks == [("updated", "tail")]
    assert broken.errors and Track.objects.get().title == "Tail latency, again"
    assert [s.lab.slug for s in Track.objects.get().steps.all()] == [
        "hello-sandbox",
        "gc-p99-spike",
    ]
    path.unlink()
    assert labs_sync(root=labs_dir).tracks == [("retired", "tail")]
    assert not Track.objects.active().exists()


def pass_lab(user, lab) -> None:
    graded(user, lab)


def test_the_catalog_shows_the_learner_s_place_and_next_lab(
    client, learner, two_labs, labs_dir
) -> None:
    track_file(two_labs)
    labs_sync(root=labs_dir)
    client.force_login(learner)

    before = client.get(reverse("catalog:lab_list")).content.decode()
    hello = Track.objects.get().steps.get(position=0).lab
    pass_lab(learner, hello)
    after = client.get(reverse("catalog:lab_list")).content.decode()

    assert "Tail latency" in before and "You have passed 0 of 2." in before
    assert 'Next: <a href="/labs/hello-sandbox/">' in before
    assert "Best taken after" in before  # gc-p99-spike waits for hello-sandbox
    assert "You have passed 1 of 2." in after
    assert 'Next: <a href="/labs/gc-p99-spike/">' in after
    lab_page = client.get(reverse("catalog:lab_detail", args=["gc-p99-spike"])).content.decode()
    assert "Lab 2 of 2 on the track" in lab_page and "not passed yet" not in lab_page


def test_a_track_that_locks_refuses_a_lab_until_its_prerequisite_passes(
    learner, two_labs, labs_dir
) -> None:
    track_file(two_labs, lock=True)
    labs_sync(root=labs_dir)
    steps = list(Track.objects.get().steps.select_related("lab"))
    hello, gc = steps[0].lab, steps[1].lab
    files = {name: b"x = 1\n" for name in gc.submit_files}

    with pytest.raises(SubmissionRejected, match="opens once you pass “Hello, sandbox"):
        submission_create(user=learner, lab=gc, files=files)
    assert not Submission.objects.filter(lab=gc).exists()

    pass_lab(learner, hello)
    assert submission_create(user=learner, lab=gc, files=files).lab == gc
    place = tracks.places(tracks.active_tracks(), {"hello-sandbox", "gc-p99-spike"})[0]
    assert place.done and place.next is None


def test_a_cohort_assigns_a_whole_track_keeping_labs_already_assigned(
    client, make_user, learner, two_labs, labs_dir
) -> None:
    from cohorts.models import Assignment, Cohort, Membership

    track_file(two_labs)
    labs_sync(root=labs_dir)
    teacher = make_user("tess")
    cohort = Cohort.objects.create(name="Spring")
    Membership.objects.create(cohort=cohort, user=teacher, role=Membership.Role.INSTRUCTOR)
    track = Track.objects.get()
    hello = track.steps.get(position=0).lab
    now = timezone.now()
    Assignment.objects.create(cohort=cohort, lab=hello, opens_at=now, due_at=now)
    client.force_login(teacher)

    response = client.post(
        reverse("cohorts:assignments", args=[cohort.pk]),
        {
            "action": "assign",
            "track": track.pk,
            "opens_at": "2026-12-01T09:00",
            "due_at": "2026-12-20T17:00",
            "late_policy": "penalty",
            "penalty_per_day": "10",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert sorted(cohort.assignments.values_list("lab__slug", flat=True)) == [
        "gc-p99-spike",
        "hello-sandbox",
    ]
    assert cohort.assignments.get(lab=hello).due_at == now  # left as it was
    assert "already assigned, and left as they were: Hello, sandbox" in response.content.decode()
