"""Tasks that wait for a person: which statuses, since when, for how long (no I/O)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mailroom_common.events import TaskStatus

__all__ = [
    "RESOLVE_NAMESPACE",
    "WAITING_STATUSES",
    "HandoffFilter",
    "age_seconds",
    "resolve_event_id",
    "resolve_refusal",
    "resolved_reason",
    "waiting_statuses",
]

# Handed to a person by the responder, or owned by a person from the start.
WAITING_STATUSES: tuple[str, ...] = (TaskStatus.HANDOFF.value, TaskStatus.HUMAN_OWNED.value)


@dataclass(frozen=True, slots=True)
class HandoffFilter:
    statuses: tuple[str, ...] = WAITING_STATUSES
    since: datetime | None = None  # on waiting_since
    until: datetime | None = None


def waiting_statuses(requested: Iterable[str]) -> tuple[str, ...]:
    """The requested waiting statuses (deduplicated, in canonical order); all when none."""
    wanted = set(requested)
    unknown = wanted.difference(WAITING_STATUSES)
    if unknown:
        raise ValueError(f"not a waiting status: {', '.join(sorted(unknown))}")
    return tuple(s for s in WAITING_STATUSES if s in wanted) or WAITING_STATUSES


def age_seconds(waiting_since: datetime, now: datetime) -> float:
    """Seconds from ``waiting_since`` to ``now``; never negative (another host's clock may
    be ahead of ours)."""
    return max(0.0, (now - waiting_since).total_seconds())


# A task is resolved once: the same task's resolution is the same event (so a double click
# or a retried request before the projector caught up is dropped by processed_events).
RESOLVE_NAMESPACE = uuid.UUID("0c6f3a4e-6d38-4b8e-9f52-7a1d2c5e9b15")


def resolve_event_id(message_key: str) -> uuid.UUID:
    return uuid.uuid5(RESOLVE_NAMESPACE, f"{message_key}\x00resolved")


def resolve_refusal(status: str) -> str | None:
    """Why a task in ``status`` cannot be marked resolved (None: it can)."""
    if status in WAITING_STATUSES:
        return None
    if status == TaskStatus.RESOLVED.value:
        return "The task is resolved already."
    return (
        f"The task is {status.replace('_', ' ')}: only a task waiting for a person "
        "(handoff, human_owned) can be marked resolved."
    )


def resolved_reason(resolved_by: str, via: str) -> str:
    """The history row's reason: who marked it resolved, and where."""
    return f"resolved by a person in the {via} ({resolved_by})"
