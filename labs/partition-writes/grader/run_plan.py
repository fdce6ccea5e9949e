"""Part B's runs: the visible ones a learner can replay, and hidden ones they cannot know.

The visible runs are the learner's seed and the next two, with both partition schedules:
the feedback names them, so a learner can replay each one with simulate.py, and can also
write a node that recognises them (its `init` seed follows from the run's seed). They are
a preview, worth a small share of part B. The hidden runs carry the weight: their seeds
are drawn from the learner's seed mixed with a salt that exists only in this file, which
the learner never sees, so no node can tell a hidden run from any other; and they are the
same for the same seed every time, so repeated gradings of one submission agree.
"""

from __future__ import annotations

import hashlib

VISIBLE_NEMESES = ("isolate-leader", "rotate")
VISIBLE_SEED_OFFSETS = (0, 1, 2)
HIDDEN_NEMESES = ("isolate-leader",) * 4 + ("rotate",) * 4 + ("none",)
# Changing the salt changes every learner's hidden runs (and so can change grades).
HIDDEN_SALT = "c1f7a06e93d54b2a8e0d6b4f71a2c9e5"
SEED_SPACE = 2**31


def visible_runs(seed: int) -> list[tuple[int, str]]:
    """(seed, nemesis) of the runs the feedback names and simulate.py replays."""
    return [(seed + k, nemesis) for k in VISIBLE_SEED_OFFSETS for nemesis in VISIBLE_NEMESES]


def hidden_seed(seed: int, index: int) -> int:
    digest = hashlib.sha256(f"{HIDDEN_SALT}:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_SPACE


def hidden_runs(seed: int) -> list[tuple[int, str]]:
    """(seed, nemesis) of the runs only the checker knows, the same for the same seed."""
    return [(hidden_seed(seed, index), nemesis) for index, nemesis in enumerate(HIDDEN_NEMESES)]
