"""Part B's hidden incidents: drawn from the learner's seed in a way only the checker knows.

The learner's own incident is a preview: it follows from their seed as scenarios.py
draws it, so code could recognise it. The hidden incidents carry the weight. Their seeds
mix the learner's seed with a salt that exists only in this file, so no cache.py can
tell a hidden incident from any other; each shape of race appears three times; and they
are the same for the same seed every time, so repeated gradings of one submission agree.
"""

from __future__ import annotations

import hashlib

from scenarios import SHAPES, incident
from scheduler import Scenario

HIDDEN_SHAPES = SHAPES * 3
# Changing the salt changes every learner's hidden incidents (and so can change grades).
HIDDEN_SALT = "5b0e94c7d2a14f6e8c3b71a9e2d05f48"
SEED_SPACE = 2**31


def hidden_seed(seed: int, index: int) -> int:
    digest = hashlib.sha256(f"{HIDDEN_SALT}:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_SPACE


def hidden_incidents(seed: int) -> list[Scenario]:
    """The hidden incidents of `seed`, titled by number only (their seeds stay here)."""
    return [
        incident(hidden_seed(seed, index), shape, title=f"hidden incident {index + 1}")
        for index, shape in enumerate(HIDDEN_SHAPES)
    ]
