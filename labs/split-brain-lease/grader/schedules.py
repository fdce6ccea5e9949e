"""Part B's schedules: the one a learner can replay, and hidden ones they cannot know.

The visible schedule is drill.py's schedule for the learner's seed: the feedback names
its faults and `python3 drill.py --seed S` replays it, so a replica could be written
for it. It is a preview, worth a small share. The hidden schedules carry the weight:
they are drawn from the learner's seed mixed with a salt that exists only in this file,
so no replica can know them in advance; and the same seed always gives the same ones,
so repeated gradings of a submission face the same faults.
"""

from __future__ import annotations

import hashlib
import random

from drill import Step, schedule_for, schedule_from

HIDDEN_SCHEDULES = 2
# Changing the salt changes every learner's hidden schedules (and so can change grades).
HIDDEN_SALT = "5b0e9c27d1f84a6e93c1a7d40f2b8e61"


def visible_schedule(seed: int) -> list[Step]:
    return schedule_for(seed)


def hidden_schedule(seed: int, index: int) -> list[Step]:
    digest = hashlib.sha256(f"{HIDDEN_SALT}:{seed}:{index}".encode()).hexdigest()
    return schedule_from(random.Random(digest))


def hidden_schedules(seed: int) -> list[list[Step]]:
    return [hidden_schedule(seed, index) for index in range(HIDDEN_SCHEDULES)]
