"""What a learner's passed labs show: each skill, and for each the labs that show it
with their evidence (the best score, when the lab was first passed, the attempts it took).
Read from LabProgress, the standing the grading write path keeps; nothing here reveals
a check, a file or another learner."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from catalog.models import Lab
from grading.models import LabProgress


@dataclass(frozen=True)
class Evidence:
    lab: Lab
    best_percent: float
    passed_at: datetime
    attempts_to_pass: int | None


@dataclass(frozen=True)
class Skill:
    name: str
    evidence: tuple[Evidence, ...]


def passed_evidence(user, labs: Iterable[Lab] | None = None) -> list[Evidence]:
    """The learner's passed labs (all, or those of ``labs``), in the order passed."""
    rows = LabProgress.objects.filter(
        user=user, first_pass_at__isnull=False, lab__is_active=True
    ).select_related("lab")
    if labs is not None:
        rows = rows.filter(lab__in=list(labs))
    return [
        Evidence(
            lab=row.lab,
            best_percent=row.best_percent or 0.0,
            passed_at=row.first_pass_at,
            attempts_to_pass=row.attempts_to_pass,
        )
        for row in rows.order_by("first_pass_at")
        if row.first_pass_at is not None
    ]


def skills(evidence: Iterable[Evidence]) -> list[Skill]:
    """The skills the evidence shows (lab.toml's `skills`), each with its labs, by name."""
    by_skill: dict[str, list[Evidence]] = {}
    for item in evidence:
        for name in item.lab.skills:
            by_skill.setdefault(name, []).append(item)
    return [Skill(name, tuple(items)) for name, items in sorted(by_skill.items())]
