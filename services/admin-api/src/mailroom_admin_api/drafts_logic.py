"""Whether an operator's approval or discard of a draft may be handed to the sender (no I/O).

The sender owns ``reply_drafts`` and acts on the decision exactly once; the admin API only
refuses what cannot be right: no draft, a draft already settled (approved, sent — by
mailroom or by a person from the mailbox — or discarded), or a reply whose task is not
``drafted``. A handoff acknowledgement's task stays ``handoff``, so only its draft counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailroom_common.db.models import DraftState
from mailroom_common.events import TaskStatus

__all__ = ["DraftFacts", "Refusal", "pick", "refusal"]


@dataclass(frozen=True, slots=True)
class DraftFacts:
    kind: str
    state: str


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    title: str
    detail: str
    kind: str


def pick(drafts: Sequence[DraftFacts]) -> DraftFacts | None:
    """The draft an action is about: a pending one if any (replies first), else the last."""
    pending = [d for d in drafts if d.state == DraftState.FILED]
    if pending:
        return sorted(pending, key=lambda d: d.kind != "reply")[0]
    return drafts[-1] if drafts else None


def refusal(draft: DraftFacts | None, task_status: str | None) -> Refusal | None:
    """Why the action must be refused, or None when it may go to the sender."""
    if draft is None:
        return Refusal(404, "Draft not found", "This task has no draft.", "draft-not-found")
    if draft.state == DraftState.FILING:
        return Refusal(
            409,
            "Draft not filed yet",
            "The draft is being filed in the Drafts folder; try again in a moment.",
            "draft-not-pending",
        )
    if draft.state != DraftState.FILED:
        return Refusal(
            409,
            "Draft already settled",
            f"The draft is {draft.state.replace('_', ' ')}: nothing more can be done with it.",
            "draft-not-pending",
        )
    if draft.kind == "reply" and task_status != TaskStatus.DRAFTED.value:
        return Refusal(
            409,
            "Task not drafted",
            f"The task is {task_status or 'not recorded yet'}, not drafted.",
            "task-not-drafted",
        )
    return None
