"""A learner's place on the tracks: what they passed, what comes next, and which labs wait
for others. Pure over the set of lab slugs the learner passed, so that every page (the
catalog, a lab's page, a cohort's) and the submission lock read the same rule."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db.models import Prefetch

from catalog.models import Lab, Track, TrackLab


@dataclass(frozen=True)
class Step:
    lab: Lab
    number: int  # 1-based place on the track
    passed: bool
    waiting_for: tuple[Lab, ...]  # labs it comes after that are not passed yet


@dataclass(frozen=True)
class Place:
    track: Track
    steps: tuple[Step, ...]
    next: Step | None  # the first lab not passed whose prerequisites are; None when done

    @property
    def passed(self) -> int:
        return sum(step.passed for step in self.steps)

    @property
    def done(self) -> bool:
        return self.passed == len(self.steps)


def active_tracks() -> list[Track]:
    """The active tracks with their steps and labs (`ordered_steps`), in catalog order."""
    steps = TrackLab.objects.filter(lab__is_active=True).select_related("lab").order_by("position")
    return list(
        Track.objects.active()
        .prefetch_related(Prefetch("steps", queryset=steps, to_attr="ordered_steps"))
        .order_by("position", "title")
    )


def steps_of(track: Track) -> list[TrackLab]:
    """A track's steps as active_tracks() fetched them (its active labs, in order)."""
    return track.ordered_steps  # type: ignore[attr-defined]


def places(tracks: Iterable[Track], passed: Collection[str]) -> list[Place]:
    """Where a learner who passed the labs ``passed`` (slugs) stands on each track."""
    result = []
    for track in tracks:
        ordered = steps_of(track)
        labs = {step.lab.slug: step.lab for step in ordered}
        steps = tuple(
            Step(
                lab=step.lab,
                number=number,
                passed=step.lab.slug in passed,
                waiting_for=tuple(
                    labs[slug] for slug in step.after if slug in labs and slug not in passed
                ),
            )
            for number, step in enumerate(ordered, start=1)
        )
        ready = [step for step in steps if not step.passed and not step.waiting_for]
        result.append(Place(track, steps, ready[0] if ready else None))
    return result


def lab_places(lab: Lab, passed: Collection[str]) -> list[tuple[Place, Step]]:
    """The tracks a lab is on, with its step on each."""
    found = []
    for place in places(active_tracks(), passed):
        for step in place.steps:
            if step.lab.pk == lab.pk:
                found.append((place, step))
    return found


def lock_refusal(lab: Lab, passed: Collection[str]) -> str | None:
    """Why a track that locks its labs refuses this one now; None when nothing does."""
    for place, step in lab_places(lab, passed):
        if place.track.lock and step.waiting_for:
            names = ", ".join(f"“{waiting.title}”" for waiting in step.waiting_for)
            return (
                f"On the track “{place.track.title}”, this lab opens once you pass {names}. "
                "Your files were not submitted; pass those first."
            )
    return None
