"""Part B's feedback: what one game day showed, in words a learner can act on.

A schedule passes when every fault was followed by progress (the leader appending
again) and the ledger took no append it should have refused: none from a replica that
did not hold the election key when it arrived, none from the holder without the key's
create_revision as its fence. The game day stops at the first such append, so the
feedback names exactly one, with what etcd said at that moment.
"""

from __future__ import annotations

from drill import DrillResult, Phase
from ledger import DEPOSED, UNJUDGED, Append

MOST_PHASES_SHOWN = 16


def count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def describe_violation(append: Append) -> str:
    holder = append.holder
    sent = (
        f"At {append.at_s:.2f} s the ledger accepted entry {append.entry} from replica "
        f"{append.sender or '(not one of the replicas)'}: seq {append.seq}, fence {append.fence}"
        + (", an append held on its way while its sender was paused" if append.held else "")
        + "."
    )
    if append.verdict == DEPOSED:
        if holder is None:
            etcd = "No replica held the election key at that moment (its lease had expired)."
        elif not holder.lease:
            etcd = f"The election key named {holder.value!r} but had no lease attached."
        else:
            etcd = (
                f"The election key named {holder.value!r} (create_revision "
                f"{holder.create_revision}) at that moment: the sender had been deposed."
            )
        return f"{sent} {etcd} A deposed leader's appends must be refused by the ledger."
    return (
        f"{sent} The sender held the election key, created at revision "
        f"{holder.create_revision if holder else '?'}, but the append's fence was "
        f"{append.fence!r}: every append carries the key's create_revision as its fence, "
        "so that the ledger can refuse an older leader's."
    )


def describe_phase(phase: Phase) -> str:
    outcome = "yes" if phase.ok else phase.detail
    return f"  {phase.label}: {outcome} ({phase.waited_s:.1f} s)"


def schedule_verdict(result: DrillResult, exits_explained: dict[str, str]) -> tuple[bool, str]:
    """(passed, feedback) for one game day. `exits_explained` says, for each replica that
    exited, how (with the end of its stderr)."""
    schedule = "; ".join(step.describe() for step in result.steps)
    accepted = sum(1 for append in result.appends if append.status == "accepted")
    fenced = sum(1 for append in result.appends if append.status == "fenced")
    lines = [
        f"Faults: {schedule}.",
        f"The ledger received {count(len(result.appends), 'append')}: {accepted} accepted, "
        f"{fenced} refused as fenced.",
    ]
    violations = result.violations
    if violations:
        lines.append(describe_violation(violations[0]))
    elif not result.completed:
        stalled = result.stalled
        lines.append(
            f"No progress: {stalled.label}: {stalled.detail}. Both replicas must keep the "
            "service going: after a fault, one of them leads and appends again."
            if stalled
            else "The game day stopped before its last fault."
        )
    unjudged = sum(1 for append in result.appends if append.verdict == UNJUDGED)
    if unjudged:
        lines.append(f"{unjudged} appends could not be judged (etcd did not answer).")
    lines.append("What happened, in order:")
    lines += [describe_phase(phase) for phase in result.phases[:MOST_PHASES_SHOWN]]
    lines += [f"Replica {name} {how}" for name, how in exits_explained.items()]
    if result.passed:
        lines.append(
            "Passed: progress after every fault, and no append the ledger should have refused."
        )
    return result.passed, "\n".join(lines)
