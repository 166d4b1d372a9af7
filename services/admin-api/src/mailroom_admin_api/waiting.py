"""Tasks that wait for a person: which statuses, since when, for how long (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mailroom_common.events import TaskStatus

__all__ = ["WAITING_STATUSES", "HandoffFilter", "age_seconds", "waiting_statuses"]

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
