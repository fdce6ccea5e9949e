"""Loading labs/ into the database. Safe to run twice: a second run changes nothing."""

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from catalog.labfiles import LabFormatError, LabSpec, discover_labs, load_lab
from catalog.models import Lab, Track, TrackLab
from catalog.rendering import render_markdown
from catalog.trackfiles import TrackSpec, discover_tracks, load_track, tracks_dir


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    errors: list[LabFormatError] = field(default_factory=list)
    # The tracks beside the labs folder: (verb, slug) as for labs, their errors in errors.
    tracks: list[tuple[str, str]] = field(default_factory=list)


def _fields(spec: LabSpec) -> dict:
    return {
        "title": spec.title,
        "summary": spec.summary,
        "skills": list(spec.skills),
        "difficulty": spec.difficulty,
        "minutes": spec.minutes,
        "submit_files": list(spec.submit),
        "image": spec.image,
        "command": list(spec.command),
        "grader_include": list(spec.include),
        "runtime": spec.runtime or "",
        "seeded": spec.seeded,
        "partial_on_timeout": spec.partial_on_timeout,
        "dialect": spec.dialect,
        "timeout_s": spec.timeout_s,
        "memory_mb": spec.memory_mb,
        "cpus": spec.cpus,
        "pids": spec.pids,
        "scratch_mb": spec.scratch_mb,
        "upload_kb": spec.upload_kb,
        "attempts_per_hour": spec.attempts_per_hour,
        "instructions_md": spec.instructions,
        "instructions_html": render_markdown(spec.instructions),
        "content_hash": spec.content_hash,
        "is_active": True,
    }


def labs_sync(*, root: Path) -> SyncReport:
    """Create, update or retire Lab rows to match the folders under root.

    A malformed lab is reported and left as it was in the database (an earlier good
    version keeps serving); it is never retired because of a typo.
    """
    report = SyncReport()
    seen: set[str] = set()
    for path in discover_labs(root):
        seen.add(path.name)
        try:
            spec = load_lab(path)
        except LabFormatError as exc:
            report.errors.append(exc)
            continue
        with transaction.atomic():
            lab = Lab.objects.select_for_update().filter(slug=spec.slug).first()
            if lab is None:
                Lab.objects.create(slug=spec.slug, **_fields(spec))
                report.added.append(spec.slug)
            elif lab.content_hash == spec.content_hash and lab.is_active:
                report.unchanged.append(spec.slug)
            else:
                for name, value in _fields(spec).items():
                    setattr(lab, name, value)
                lab.save()
                report.updated.append(spec.slug)
    for lab in Lab.objects.active().exclude(slug__in=seen):
        lab.is_active = False
        lab.save(update_fields=["is_active", "synced_at"])
        report.retired.append(lab.slug)
    _tracks_sync(tracks_dir(root), report)
    return report


def _tracks_sync(root: Path, report: SyncReport) -> None:
    """Load the track files against the labs now active; a malformed one is reported and
    left as it was, as a malformed lab is."""
    labs = dict(Lab.objects.active().values_list("slug", "pk"))
    seen: set[str] = set()
    for path in discover_tracks(root):
        seen.add(path.stem)
        try:
            spec = load_track(path, labs)
        except LabFormatError as exc:
            report.errors.append(exc)
            continue
        with transaction.atomic():
            track = Track.objects.select_for_update().filter(slug=spec.slug).first()
            if track is not None and track.content_hash == spec.content_hash and track.is_active:
                report.tracks.append(("unchanged", spec.slug))
                continue
            verb = "added" if track is None else "updated"
            track, _ = Track.objects.update_or_create(slug=spec.slug, defaults=_track_fields(spec))
            track.steps.all().delete()
            TrackLab.objects.bulk_create(
                TrackLab(track=track, lab_id=labs[step.lab], position=i, after=list(step.after))
                for i, step in enumerate(spec.steps)
            )
            report.tracks.append((verb, spec.slug))
    for track in Track.objects.active().exclude(slug__in=seen):
        track.is_active = False
        track.save(update_fields=["is_active", "synced_at"])
        report.tracks.append(("retired", track.slug))


def _track_fields(spec: TrackSpec) -> dict:
    return {
        "title": spec.title,
        "summary": spec.summary,
        "position": spec.position,
        "lock": spec.lock,
        "content_hash": spec.content_hash,
        "is_active": True,
    }
