"""Part B's pure logic: the orders, the call budget, the speed credit, the CPU cross-check.

The visible orders are the learner's own: bench.py's orders for their seed, which they
can replay, so they are a preview. The hidden orders carry the weight: bench.py's
generator with a seed drawn from the learner's seed and a salt that exists only in this
file, so no service can tell them from any other order, and they are the same for the
same seed every time, so repeated gradings of one submission agree.

Speed is the calls the service makes (the runner's "call" and "c_call" events) against
the reference's on the same orders, over the orders it answered right:

    ratio  = sum of your calls / sum of the reference's calls
    credit = 1 - clamp(ln(ratio / FULL_RATIO) / ln(ZERO_RATIO / FULL_RATIO), 0, 1)

times the share of orders answered right. An order that costs more than BUDGET_RATIO
times the reference's calls is stopped and counts as not answered. The count comes from
inside the learner's process, so it is believed only where the CPU time the checker
reads from /proc agrees: at most CPU_RATIO_ALLOWED times the reference's on the same
orders, in the same container (plus CPU_SLACK_S for the clock's ticks).
"""

from __future__ import annotations

import hashlib
import math

HIDDEN_SALT = "c41f9a6e0b7d4e2f8a15b3c9d6e07f21"
SEED_SPACE = 2**31
HIDDEN_ORDERS = 6
HIDDEN_LINES = (6000, 10000)
# Within this ratio of the reference's calls the speed credit is full; from ZERO_RATIO it
# is gone. Other correct designs make 0.7 (a dict keyed by the code string) to 1.2 (sort
# and scan) times the reference's calls; fixing only the SKU merge leaves about 2.1 times,
# which earns a quarter of the speed credit.
FULL_RATIO, ZERO_RATIO = 1.25, 2.5
# An order that makes this many times the reference's calls is stopped: the starter's
# list scan makes hundreds of times as many on a bulk order.
BUDGET_RATIO = 8
# The counter is believed when the CPU time agrees: a correct fix takes 0.7 to 1.9 times
# the reference's, a merge whose loop is hidden in C (``in`` on a list) 7.5 to 11 times
# on these orders, and a silenced counter far more. The bound sits about halfway (in
# ratio) between, so that a busy machine's noise in CPU time cannot fail a correct fix.
CPU_RATIO_ALLOWED = 4.0
# While counted, an order may use this many times the reference's CPU time on it (at
# least CPU_BUDGET_FLOOR_S): a service whose counter was silenced from inside is stopped
# there instead of running for minutes.
CPU_BUDGET_RATIO = 10
CPU_BUDGET_FLOOR_S = 0.5
CPU_SLACK_S = 0.05


def hidden_seed(seed: int) -> int:
    digest = hashlib.sha256(f"{HIDDEN_SALT}:{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_SPACE


def budget(reference_calls: int) -> int:
    return BUDGET_RATIO * reference_calls


def speed_credit(ratio: float) -> float:
    """1 up to FULL_RATIO, 0 from ZERO_RATIO, falling linearly in log(ratio) between."""
    if ratio <= FULL_RATIO:
        return 1.0
    fall = math.log(ratio / FULL_RATIO) / math.log(ZERO_RATIO / FULL_RATIO)
    return max(0.0, 1.0 - fall)


def cpu_allowance(reference_s: float) -> float:
    return max(CPU_BUDGET_FLOOR_S, CPU_BUDGET_RATIO * reference_s)


def cpu_agrees(mine_s: float, reference_s: float) -> bool:
    return mine_s <= CPU_RATIO_ALLOWED * reference_s + CPU_SLACK_S
