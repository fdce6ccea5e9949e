"""A cohort's tracks: those whose every lab the cohort assigns, each learner's place on
them, and the credentials issued for them to the cohort's learners."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

from catalog import tracks
from cohorts.exports import _Echo, csv_text
from cohorts.models import Cohort
from grading.models import LabProgress
from records.models import Credential


@dataclass(frozen=True)
class LearnerRow:
    learner: object
    # One per assigned track, in the tracks' order: the place, and the credential issued.
    cells: tuple[tuple[tracks.Place, Credential | None], ...]


def assigned_tracks(cohort: Cohort) -> list:
    """The active tracks whose every lab this cohort assigns."""
    assigned = set(cohort.assignments.values_list("lab_id", flat=True))
    return [
        track
        for track in tracks.active_tracks()
        if tracks.steps_of(track) and all(s.lab_id in assigned for s in tracks.steps_of(track))
    ]


def learner_rows(cohort: Cohort) -> tuple[list, list[LearnerRow]]:
    """(the assigned tracks, a row per learner with their place on each)."""
    chosen = assigned_tracks(cohort)
    learners = list(cohort.learners().order_by("username"))
    passed: dict[int, set[str]] = {learner.pk: set() for learner in learners}
    for user_id, slug in LabProgress.objects.filter(
        user__in=learners, first_pass_at__isnull=False
    ).values_list("user_id", "lab__slug"):
        passed[user_id].add(slug)
    issued: dict[int, dict[int, Credential]] = {learner.pk: {} for learner in learners}
    for credential in Credential.objects.filter(user__in=learners, track__in=chosen):
        issued[credential.user_id][credential.track_id] = credential
    rows = [
        LearnerRow(
            learner,
            tuple(
                (place, issued[learner.pk].get(place.track.pk))
                for place in tracks.places(chosen, passed[learner.pk])
            ),
        )
        for learner in learners
    ]
    return chosen, rows


def credentials_lines(cohort: Cohort) -> Iterator[str]:
    """CSV lines: every credential issued to the cohort's learners, revoked ones too."""
    writer = csv.writer(_Echo())
    yield writer.writerow(
        ["learner", "name on it", "track", "issued", "credential", "revoked", "why revoked"]
    )
    issued = (
        Credential.objects.filter(user__in=cohort.learners())
        .select_related("user", "track")
        .order_by("user__username", "issued_at")
    )
    for credential in issued:
        yield writer.writerow(
            [
                csv_text(credential.user.username),
                csv_text(credential.subject_name),
                credential.track.slug,
                credential.issued_at.isoformat(),
                f"urn:uuid:{credential.pk}",
                credential.revoked_at.isoformat() if credential.revoked_at else "",
                csv_text(credential.revoked_reason),
            ]
        )
