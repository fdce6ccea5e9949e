"""Part A: which gang the deadlock holds hostage, and which pods hold the GPUs it waits for.

With the starter's scheduler on the learner's seed (trace "incident"), the simulation
stops at a deadlock and its last line names the gang that has waited longest. The
answer is that gang's name and, for every other gang left partly bound at that cycle,
each of its bound pods with the node and GPU it holds (the simulator's Deadlock).

diagnosis.json: {"pending_job": "train-05", "holders": [{"pod": "train-07-3", "node":
"n2", "gpu": 5}, ...]}. A holder is also read in the event log's own form, the text
"train-07-3 -> n2/gpu5". The gang is worth PENDING_POINTS when named exactly; the
holders HOLDER_POINTS x F1 of the (pod, node, gpu) triples: every entry counts as an
answer (a duplicate or an entry that cannot be read is a wrong one), each right triple
once, so listing half earns about half and listing every bound pod costs precision.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

PENDING_POINTS = 0.5
HOLDER_POINTS = 2.5
MAX_HOLDERS = 500
EXAMPLE = '{"pending_job": "train-05", "holders": [{"pod": "train-07-3", "node": "n2", "gpu": 5}]}'
# The event log writes a binding as "train-07-3 -> n2/gpu5"; "train-07-3 n2/gpu5" too.
HOLDER_TEXT = re.compile(r"\s*([a-z0-9-]+)\s*(?:->)?\s+(n\d+)\s*/\s*gpu\s*(\d+)\s*")
GPU_TEXT = re.compile(r"\s*(?:gpu)?\s*(\d+)\s*")

Triple = tuple[str, str, int]


@dataclass(frozen=True)
class Graded:
    score: float
    passed: bool
    output: str


def parse(data: bytes | None) -> tuple[dict | None, str]:
    """(the JSON object, "") or (None, what is wrong with diagnosis.json)."""
    if data is None:
        return None, f"diagnosis.json is missing: hand in an object such as {EXAMPLE}."
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"diagnosis.json is not valid JSON ({error}): expected {EXAMPLE}."
    if not isinstance(value, dict):
        return None, f"diagnosis.json must be one JSON object, such as {EXAMPLE}."
    return value, ""


def read_gpu(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = GPU_TEXT.fullmatch(value)
        return int(match.group(1)) if match else None
    return None


def read_holder(entry: object) -> Triple | None:
    """One (pod, node, gpu), from an object or from the log's text form; None if it is
    not exactly one."""
    if isinstance(entry, str):
        match = HOLDER_TEXT.fullmatch(entry)
        return (match.group(1), match.group(2), int(match.group(3))) if match else None
    if not isinstance(entry, dict):
        return None
    pod, node, gpu = entry.get("pod"), entry.get("node"), read_gpu(entry.get("gpu"))
    if not isinstance(pod, str) or not isinstance(node, str) or gpu is None:
        return None
    return (pod.strip(), node.strip(), gpu)


def f1(answers: list[Triple | None], want: set[Triple]) -> tuple[float, int]:
    """(F1 of the answers against the wanted triples, how many wanted ones were named)."""
    right = {answer for answer in answers if answer in want}
    if not answers or not want:
        return (1.0 if not answers and not want else 0.0), len(right)
    precision, recall = len(right) / len(answers), len(right) / len(want)
    if not right:
        return 0.0, 0
    return 2 * precision * recall / (precision + recall), len(right)


def grade_pending(answers: dict, gang: str, cycle: int) -> Graded:
    got = answers.get("pending_job")
    if got is None or got == "":
        return Graded(0.0, False, "No pending_job given: the name of one gang, such as train-05.")
    if not isinstance(got, str) or got.strip() != gang:
        return Graded(
            0.0,
            False,
            f"pending_job {json.dumps(got)[:80]}: not the gang the deadlock at cycle {cycle} "
            "names. Name exactly one gang, as the log's last line writes it.",
        )
    return Graded(PENDING_POINTS, True, f"pending_job {gang}: right.")


def grade_holders(answers: dict, want: tuple[Triple, ...], gang: str, cycle: int) -> Graded:
    entries = answers.get("holders")
    if not isinstance(entries, list) or not entries:
        return Graded(
            0.0,
            False,
            'No holders given: a list of entries such as {"pod": "train-07-3", "node": "n2", '
            '"gpu": 5}.',
        )
    entries = entries[:MAX_HOLDERS]
    read = [read_holder(entry) for entry in entries]
    score, right = f1(read, set(want))
    unreadable = sum(1 for triple in read if triple is None)
    duplicates = len(read) - unreadable - len({t for t in read if t is not None})
    lines = [
        f"{len(entries)} holders given, {right} of them right (each counted once); "
        f"F1 {score:.2f}, {round(HOLDER_POINTS * score, 2):g} of {HOLDER_POINTS:g} points."
    ]
    if unreadable:
        lines.append(
            f"{unreadable} could not be read as one pod, one node and one GPU (such as "
            '{"pod": "train-07-3", "node": "n2", "gpu": 5} or "train-07-3 -> n2/gpu5"): '
            "they count as wrong answers."
        )
    if duplicates:
        lines.append(f"{duplicates} repeat an earlier entry: they count as wrong answers.")
    if score < 1:
        lines.append(
            f"The holders are the pods of the other gangs left partly bound at cycle {cycle}, "
            f"the GPUs {gang} would need: replay the binds and finishes of your seed's "
            "events.log up to that cycle. Pods of gangs that started, and the gang's own "
            "pods, do not hold it hostage."
        )
    return Graded(round(HOLDER_POINTS * score, 3), score == 1.0, "\n".join(lines))
