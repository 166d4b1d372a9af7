"""Why a task is where it is, told apart from what the SMTP server said (no I/O).

A task's history mixes two kinds of status change: decisions (ingest's screening, the
responder's route, hand-off and gate reasons, a person's action) and delivery reports
(the sender's "accepted: 250 …", "handoff_ack sent; …", a refused recipient). An operator
reading "why" wants the first; the second is the delivery result, shown on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mailroom_common.events import TaskStatus

__all__ = ["DELIVERY_SERVICE", "ChangeView", "Reasons", "summary_reason", "task_reasons"]

# The service whose status changes report deliveries (SMTP results), never decisions.
DELIVERY_SERVICE = "sender"


@dataclass(frozen=True, slots=True)
class ChangeView:
    """What the reasons need of one ``task_status_changes`` row."""

    status: str
    reason: str | None
    service: str | None
    occurred_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reasons:
    status_reason: str | None
    delivery_result: str | None


def task_reasons(
    changes: Iterable[ChangeView],
    *,
    status: str,
    dead_letter_error: str | None = None,
) -> Reasons:
    """The latest decision's reason and the latest delivery report, from oldest-first rows.

    A dead-lettered task's reason is its error (the latest dead letter's, when known).
    """
    decision: str | None = None
    delivery: str | None = None
    for change in changes:
        if not change.reason:
            continue
        if change.service == DELIVERY_SERVICE:
            delivery = change.reason
        else:
            decision = change.reason
    if status == TaskStatus.DEAD_LETTER.value and dead_letter_error:
        decision = dead_letter_error
    return Reasons(status_reason=decision, delivery_result=delivery)


def summary_reason(
    *, status: str, latest_decision: str | None, decision_reason: str | None, last_error: str | None
) -> str | None:
    """One line for the task list: a dead letter's error, else the latest decision's reason
    (``latest_decision``: the newest reason of a change not from the sender), else the
    routing decision's."""
    if status == TaskStatus.DEAD_LETTER.value and last_error:
        return last_error
    return latest_decision or decision_reason
