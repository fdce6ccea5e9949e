"""Reading a learner's review.json and scoring its findings against the hidden key.

Pure functions, no I/O beyond what the caller passes in, so that the matcher can be
unit-tested on hand-made findings:

- ``parse_review`` validates the document strictly and raises ``ReviewError`` with every
  problem found, each phrased so that the learner knows what to change;
- ``score_findings`` matches findings to the key's defects (same file, line within a
  tolerance of one of the defect's anchors, same category after synonyms) and returns
  precision, recall and F1 over distinct defects.

A defect's anchors are the lines where a reviewer would point at it; some defects show
in two places (where the mistake is made and where it bites). The first finding on a
defect is a true positive. A further finding on the same defect is left out of the
score if it points at another of the defect's anchors than the findings before it (its
nearest anchor is one no other finding on the defect took), and is a false positive
otherwise: repeating a finding, or writing several around one defect, costs precision.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MAX_FINDINGS = 12
LINE_TOLERANCE = 3
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_COMMENT_CHARS = 2000
MAX_PROBLEMS_SHOWN = 10
VERDICTS = ("approve", "request_changes")
SEVERITIES = ("low", "medium", "high", "critical")

# Each category a finding may name, with the other spellings reviewers use for it.
# The first five are kinds of defect the key can hold; the rest are real review
# categories too, but no seeded defect is one of them.
CATEGORY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "race": (
        "race-condition",
        "data-race",
        "concurrency",
        "thread-safety",
        "threading",
        "atomicity",
        "toctou",
    ),
    "error-handling": (
        "swallowed-error",
        "swallowed-exception",
        "silent-failure",
        "exception-handling",
        "error-swallowing",
        "lost-error",
    ),
    "off-by-one": ("fencepost", "boundary", "off-by-one-error", "obo"),
    "invariant": ("broken-invariant", "data-structure", "consistency", "data-integrity"),
    "resource-leak": (
        "leak",
        "connection-leak",
        "resource-exhaustion",
        "resource-management",
    ),
    "security": (),
    "performance": (),
    "api-compatibility": ("api", "compatibility", "breaking-change"),
    # Comments worth making in a review but not scored either way (see the README).
    "style": ("readability", "naming", "nit"),
    "documentation": ("docs",),
    "testing": ("tests", "test-coverage"),
}
UNSCORED_CATEGORIES = frozenset({"style", "documentation", "testing"})
_FINDING_FIELDS = ("file", "line", "category", "severity", "comment")
_TOP_LEVEL_FIELDS = ("verdict", "findings", "summary")


def _normalise(name: str) -> str:
    return "-".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


_CANONICAL = {
    _normalise(alias): canonical
    for canonical, aliases in CATEGORY_SYNONYMS.items()
    for alias in (canonical, *aliases)
}


def canonical_category(name: str) -> str | None:
    """The category a name stands for ("Thread safety" -> "race"), or None if unknown."""
    return _CANONICAL.get(_normalise(name))


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    category: str  # canonical
    severity: str
    comment: str


@dataclass(frozen=True)
class Review:
    verdict: str
    findings: tuple[Finding, ...]


class ReviewError(Exception):
    """review.json does not follow the format; ``problems`` says every way it does not."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))

    def explain(self) -> str:
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        lines = ["review.json was not scored, because:", *(f"- {p}" for p in shown)]
        if len(self.problems) > len(shown):
            lines.append(f"- ... and {len(self.problems) - len(shown)} more problems")
        return "\n".join(lines)


@dataclass(frozen=True)
class Anchor:
    file: str
    line: int


@dataclass(frozen=True)
class Defect:
    id: str
    category: str
    anchors: tuple[Anchor, ...]


def load_key(document: Mapping) -> tuple[Defect, ...]:
    """The defects of a key document (the checker's review_key.json, already parsed)."""
    defects = []
    for entry in document["defects"]:
        category = canonical_category(entry["category"])
        if category is None or category in UNSCORED_CATEGORIES:
            raise ValueError(f"key defect {entry['id']}: category {entry['category']!r}")
        anchors = tuple(Anchor(a["file"], int(a["line"])) for a in entry["anchors"])
        defects.append(Defect(entry["id"], category, anchors))
    return tuple(defects)


def _normalise_path(raw: str, known_files: Mapping[str, int]) -> str:
    path = raw.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    # Paths copied from the diff's headers carry git's a/ and b/ prefixes.
    if path not in known_files and path[:2] in ("a/", "b/") and path[2:] in known_files:
        path = path[2:]
    return path


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_repeated_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json.loads keeps the last of repeated keys; a review with two verdicts names no
    # verdict, so it is refused rather than read as whichever came last.
    document: dict[str, object] = {}
    for key, value in pairs:
        if key in document:
            raise _RepeatedKey(key)
        document[key] = value
    return document


def parse_review(raw: bytes, *, known_files: Mapping[str, int]) -> Review:
    """Validate review.json; ``known_files`` maps each file of the patched repo to its length."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ReviewError([f"review.json is {len(raw)} bytes; keep it under 64 KB"])
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_repeated_keys)
    except _RepeatedKey as exc:
        raise ReviewError(
            [f"the field {exc.key!r} appears twice in one object; give each field once"]
        ) from None
    except UnicodeDecodeError:
        raise ReviewError(["review.json is not UTF-8 text"]) from None
    except json.JSONDecodeError as exc:
        raise ReviewError(
            [f"review.json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    if not isinstance(document, dict):
        raise ReviewError(
            ['review.json must be one JSON object: {"verdict": ..., "findings": [...]}']
        )

    problems: list[str] = []
    for key in document:
        if key not in _TOP_LEVEL_FIELDS:
            problems.append(
                f"unknown field {key!r} at the top level; the fields are "
                + ", ".join(_TOP_LEVEL_FIELDS)
            )
    verdict = document.get("verdict")
    if verdict not in VERDICTS:
        problems.append(
            f'"verdict" must be "approve" or "request_changes", not {json.dumps(verdict)}'
        )
    if "summary" in document and not isinstance(document["summary"], str):
        problems.append('"summary" must be a string when present')
    raw_findings = document.get("findings")
    findings: list[Finding] = []
    if not isinstance(raw_findings, list):
        problems.append('"findings" must be a list (it may be empty)')
    elif len(raw_findings) > MAX_FINDINGS:
        problems.append(
            f"{len(raw_findings)} findings; a review may hold at most {MAX_FINDINGS}. "
            "Findings are scored by precision as well as recall: keep the ones you can "
            "argue for, and merge findings about the same defect"
        )
    else:
        for number, item in enumerate(raw_findings, start=1):
            finding = _parse_finding(number, item, known_files, problems)
            if finding is not None:
                findings.append(finding)
    if problems:
        raise ReviewError(problems)
    return Review(verdict=verdict, findings=tuple(findings))


def _parse_finding(
    number: int, item: object, known_files: Mapping[str, int], problems: list[str]
) -> Finding | None:
    where = f"finding {number}"
    if not isinstance(item, dict):
        problems.append(f"{where} must be an object with fields {', '.join(_FINDING_FIELDS)}")
        return None
    before = len(problems)
    for key in item:
        if key not in _FINDING_FIELDS:
            problems.append(
                f"{where}: unknown field {key!r}; the fields are {', '.join(_FINDING_FIELDS)}"
            )
    for key in _FINDING_FIELDS:
        if key not in item:
            problems.append(f"{where}: field {key!r} is missing")
    if len(problems) > before:
        return None

    file, line = item["file"], item["line"]
    path = _normalise_path(file, known_files) if isinstance(file, str) else None
    if path is None or path not in known_files:
        problems.append(
            f"{where}: file {json.dumps(file)} is not a file of the patched repository; "
            "use its path from the repository root, e.g. " + json.dumps(min(known_files))
        )
    if isinstance(line, bool) or not isinstance(line, int):
        problems.append(f"{where}: line must be a whole number, not {json.dumps(line)}")
    elif path in known_files and not 1 <= line <= known_files[path]:
        problems.append(
            f"{where}: {path} has lines 1 to {known_files[path]} after the PR; "
            f"line {line} is outside it (use the line numbers of the patched file)"
        )
    category = item["category"]
    canonical = canonical_category(category) if isinstance(category, str) else None
    if canonical is None:
        problems.append(
            f"{where}: unknown category {json.dumps(category)}; use one of "
            + ", ".join(CATEGORY_SYNONYMS)
        )
    severity = item["severity"]
    if severity not in SEVERITIES:
        problems.append(
            f"{where}: severity must be one of {', '.join(SEVERITIES)}, not {json.dumps(severity)}"
        )
    comment = item["comment"]
    if not isinstance(comment, str) or not comment.strip():
        problems.append(f"{where}: comment must say what is wrong, in a non-empty string")
    elif len(comment) > MAX_COMMENT_CHARS:
        problems.append(f"{where}: comment is longer than {MAX_COMMENT_CHARS} characters")
    if len(problems) > before:
        return None
    return Finding(path, line, canonical, severity, comment)


@dataclass(frozen=True)
class ReviewScore:
    """How a review's findings compare with the key, counted over distinct defects."""

    defects: int
    matched: tuple[str, ...]  # ids of the defects found, in key order
    false_positives: int  # scored findings that point at no seeded defect
    duplicates: int  # further findings on a defect at a place already pointed at
    repeats: int  # further findings on a defect at another of its places (not scored)
    unscored: int  # style, documentation and testing comments
    wrong_category: int  # false positives at a defect's place, naming another kind
    finding_outcomes: tuple[str, ...] = field(default=())  # per finding, for tests and logs

    @property
    def true_positives(self) -> int:
        return len(self.matched)

    @property
    def judged(self) -> int:
        """The findings precision is computed over: repeats and unscored ones are not."""
        return self.true_positives + self.false_positives + self.duplicates

    @property
    def precision(self) -> float:
        return self.true_positives / self.judged if self.judged else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.defects if self.defects else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _distance(finding: Finding, defect: Defect) -> int | None:
    """Lines between the finding and the defect's nearest anchor in the same file."""
    gaps = [abs(finding.line - a.line) for a in defect.anchors if a.file == finding.file]
    return min(gaps) if gaps else None


def _nearest_anchors(finding: Finding, defect: Defect) -> frozenset[int]:
    """The indexes of the defect's anchors nearest to the finding (several on a tie)."""
    gaps = {
        i: abs(finding.line - anchor.line)
        for i, anchor in enumerate(defect.anchors)
        if anchor.file == finding.file
    }
    nearest = min(gaps.values())
    return frozenset(i for i, gap in gaps.items() if gap == nearest)


def _places_pointed_at(wanted: list[frozenset[int]]) -> list[int | None]:
    """Give each finding an anchor it wants, no anchor to two findings, as many as can be.

    A maximum bipartite matching (augmenting paths), tried in the findings' order, so
    that an earlier finding keeps its anchor when a later one wants the same. Returns,
    per finding, the anchor it got or None.
    """
    owner: dict[int, int] = {}  # anchor -> finding

    def assign(finding: int, seen: set[int]) -> bool:
        for anchor in sorted(wanted[finding]):
            if anchor in seen:
                continue
            seen.add(anchor)
            if anchor not in owner or assign(owner[anchor], seen):
                owner[anchor] = finding
                return True
        return False

    for finding in range(len(wanted)):
        assign(finding, set())
    got: list[int | None] = [None] * len(wanted)
    for anchor, finding in owner.items():
        got[finding] = anchor
    return got


def score_findings(
    findings: Iterable[Finding], defects: Iterable[Defect], *, tolerance: int = LINE_TOLERANCE
) -> ReviewScore:
    """Match each finding to at most one defect and score the review (module docstring)."""
    defects = tuple(defects)
    order = {defect.id: i for i, defect in enumerate(defects)}
    outcomes: list[str] = []
    on_defect: dict[str, list[int]] = {}  # defect id -> indexes of its findings, in order
    false_positives = unscored = wrong_category = 0
    findings = tuple(findings)
    for index, finding in enumerate(findings):
        if finding.category in UNSCORED_CATEGORIES:
            unscored += 1
            outcomes.append("unscored")
            continue
        near = [
            (distance, defect)
            for defect in defects
            if (distance := _distance(finding, defect)) is not None and distance <= tolerance
        ]
        same_kind = [(d, defect) for d, defect in near if defect.category == finding.category]
        if not same_kind:
            false_positives += 1
            if near:
                wrong_category += 1
            outcomes.append("false-positive")
            continue
        # Prefer a defect not yet found, then the nearest one, then key order.
        same_kind.sort(key=lambda pair: (pair[1].id in on_defect, pair[0], order[pair[1].id]))
        defect = same_kind[0][1]
        on_defect.setdefault(defect.id, []).append(index)
        outcomes.append(defect.id)  # settled below, once every finding is placed

    duplicates = repeats = 0
    by_id = {defect.id: defect for defect in defects}
    for defect_id, indexes in on_defect.items():
        defect = by_id[defect_id]
        got = _places_pointed_at([_nearest_anchors(findings[i], defect) for i in indexes])
        first = True
        for index, anchor in zip(indexes, got, strict=True):
            if anchor is None:
                duplicates += 1
                outcomes[index] = f"duplicate:{defect_id}"
            elif first:
                first = False
                outcomes[index] = f"match:{defect_id}"
            else:
                repeats += 1
                outcomes[index] = f"repeat:{defect_id}"
    return ReviewScore(
        defects=len(defects),
        matched=tuple(d.id for d in defects if d.id in on_defect),
        false_positives=false_positives,
        duplicates=duplicates,
        repeats=repeats,
        unscored=unscored,
        wrong_category=wrong_category,
        finding_outcomes=tuple(outcomes),
    )


def explain_score(score: ReviewScore) -> str:
    """What the learner sees: counts only, so that the key cannot be read off the feedback."""
    lines = [
        f"{score.judged} scored finding(s): {score.true_positives} find a seeded defect, "
        f"{score.false_positives + score.duplicates} do not.",
        f"The PR has {score.defects} seeded defects; your review found "
        f"{score.true_positives} of them.",
        f"Precision {score.precision:.2f}, recall {score.recall:.2f}, F1 {score.f1:.2f}.",
    ]
    if score.duplicates:
        lines.append(
            f"{score.duplicates} finding(s) repeat a defect already found, at the same "
            "place: they count as false positives, like findings that point at no defect. "
            "Write one finding per defect and place, and say all you have to say about it "
            "in that finding's comment."
        )
    if score.repeats:
        lines.append(
            f"{score.repeats} finding(s) point at a defect already found, at another place "
            "where it shows: not scored either way."
        )
    if score.wrong_category:
        lines.append(
            f"{score.wrong_category} finding(s) sit within {LINE_TOLERANCE} lines of a seeded "
            "defect but name a category that does not describe it: ask what would go wrong "
            "in production, and name that."
        )
    if score.unscored:
        lines.append(f"{score.unscored} style/documentation/testing comment(s), not scored.")
    if score.true_positives < score.defects:
        lines.append(
            "Missing some? Read each changed line asking: what if two threads get here, what "
            "if this raises, what happens on the last iteration, what must stay true of this "
            "data structure, and who gives back what was taken."
        )
    return "\n".join(lines)
