"""A lab's leaderboard: each learner's latest graded submission that reported a row
(a Gradescope autograder's results.json `leaderboard`), ranked by its first column.

Learners appear under a name they choose or, until they do, under a pseudonym derived
from the site's secret, so the board never shows who they are; staff also see usernames.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from grading.models import JobStatus, LeaderboardName, Submission

NAME_RE = re.compile(r"^[\w][\w .'-]{0,38}[\w.]$|^\w$")
MAX_ROWS = 500


class NameRefused(ValueError):
    """A leaderboard name that cannot be used; the message says why."""


@dataclass(frozen=True)
class Row:
    rank: int
    name: str
    username: str  # for staff only; the template shows it to them alone
    mine: bool
    cells: tuple[tuple[str, float | str | None], ...]  # (column, value), in column order
    submitted_at: object


@dataclass(frozen=True)
class Board:
    columns: tuple[str, ...]
    orders: tuple[str, ...]
    rows: tuple[Row, ...]


def pseudonym(user_id, lab_id) -> str:
    """A stable name for a learner who chose none: unguessable without the site's secret."""
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, f"leaderboard:{lab_id}:{user_id}".encode(), hashlib.sha256)
    return f"Anonymous {digest.hexdigest()[:6]}"


def board(lab, viewer) -> Board:
    """The lab's leaderboard as ``viewer`` sees it."""
    latest: dict[int, Submission] = {}
    graded = (
        Submission.objects.filter(lab=lab, status=JobStatus.GRADED, extras__has_key="leaderboard")
        .select_related("user")
        .order_by("user_id", "-created_at")
        .only("user__username", "user_id", "extras", "created_at")
    )
    for submission in graded.iterator():
        latest.setdefault(submission.user_id, submission)
    columns: list[str] = []
    orders: list[str] = []
    for submission in latest.values():
        for entry in submission.extras["leaderboard"]:
            if entry["name"] not in columns:
                columns.append(entry["name"])
                orders.append(entry.get("order", "desc"))
    chosen = dict(
        LeaderboardName.objects.filter(lab=lab, user_id__in=latest).values_list("user_id", "name")
    )
    unranked = []
    for submission in latest.values():
        values = {e["name"]: e["value"] for e in submission.extras["leaderboard"]}
        unranked.append((submission, tuple(values.get(column) for column in columns)))
    unranked.sort(key=lambda item: _sort_key(item[1], orders))
    rows = tuple(
        Row(
            rank=position,
            name=chosen.get(submission.user_id) or pseudonym(submission.user_id, lab.pk),
            username=submission.user.username if viewer.is_staff else "",
            mine=submission.user_id == viewer.pk,
            cells=tuple(zip(columns, values, strict=True)),
            submitted_at=submission.created_at,
        )
        for position, (submission, values) in enumerate(unranked[:MAX_ROWS], start=1)
    )
    return Board(tuple(columns), tuple(orders), rows)


def _sort_key(values: tuple, orders: list[str]) -> tuple:
    """Rank by the first column, then the next: numbers before text before nothing."""
    key = []
    for value, order in zip(values, orders, strict=True):
        if isinstance(value, int | float):
            key.append((0, -value if order == "desc" else value, ""))
        elif isinstance(value, str):
            key.append((1, 0, value))
        else:
            key.append((2, 0, ""))
    return tuple(key)


def name_choose(*, user, lab, name: str) -> LeaderboardName:
    """Set the name ``user`` appears under on ``lab``'s board; NameRefused says why not."""
    name = " ".join(name.split())
    if not NAME_RE.match(name):
        raise NameRefused(
            "Use 1 to 40 letters, digits, spaces, '.', \"'\", '-' or '_', "
            "starting with a letter or digit."
        )
    if name.casefold().startswith("anonymous"):
        raise NameRefused("Names starting with “Anonymous” are kept for learners without one.")
    try:
        with transaction.atomic():
            chosen, _ = LeaderboardName.objects.update_or_create(
                user=user, lab=lab, defaults={"name": name, "folded": name.casefold()}
            )
    except IntegrityError:
        raise NameRefused(f"“{name}” is taken on this leaderboard; choose another.") from None
    return chosen
