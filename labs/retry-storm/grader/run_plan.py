"""Part B's runs: the visible ones a learner can replay, and hidden ones they cannot know.

The visible runs are the learner's own seed with the incident and the batch-job herd:
the feedback names them and simulate.py replays them, so a policy could also recognise
them (their arrivals follow from the seed). They are a preview, worth a small share of
part B. The hidden runs carry the weight: their seeds are drawn from the learner's seed
mixed with a salt that exists only in this file, which the learner never sees, so no
policy can tell a hidden run from any other; and they are the same for the same seed
every time, so repeated gradings of one submission agree.
"""

from __future__ import annotations

import hashlib

VISIBLE_SHAPES = ("incident", "herd")
HIDDEN_SHAPES = ("slowdown", "slowdown", "surge", "errors", "herd", "steady")
# Changing the salt changes every learner's hidden runs (and so can change grades).
HIDDEN_SALT = "7d1e0b9c52a84f36b1c9e2d04a6f8c13"
SEED_SPACE = 2**31


def visible_runs(seed: int) -> list[tuple[int, str]]:
    """(seed, shape) of the runs the feedback names and simulate.py replays."""
    return [(seed, shape) for shape in VISIBLE_SHAPES]


def hidden_seed(seed: int, index: int) -> int:
    digest = hashlib.sha256(f"{HIDDEN_SALT}:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_SPACE


def hidden_runs(seed: int) -> list[tuple[int, str]]:
    """(seed, shape) of the runs only the checker knows, the same for the same seed."""
    return [(hidden_seed(seed, index), shape) for index, shape in enumerate(HIDDEN_SHAPES)]
