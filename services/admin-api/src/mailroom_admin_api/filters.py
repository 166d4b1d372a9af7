"""Filter values the routes parse and the repositories turn into SQL (no I/O here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "AlertFilter",
    "DeadLetterFilter",
    "InvalidWindow",
    "TaskFilter",
    "as_utc",
    "parse_window",
]

_WINDOW = re.compile(r"^(\d{1,4})([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
MAX_WINDOW = timedelta(days=366)


class InvalidWindow(ValueError):
    pass


def parse_window(raw: str) -> timedelta:
    """``"90m"``, ``"24h"`` or ``"7d"`` as a timedelta, at most a year."""
    match = _WINDOW.match(raw)
    if not match:
        raise InvalidWindow(f"window {raw!r} must look like 90m, 24h or 7d")
    amount, unit = int(match.group(1)), match.group(2)
    window = timedelta(seconds=amount * _UNIT_SECONDS[unit])
    if window <= timedelta(0) or window > MAX_WINDOW:
        raise InvalidWindow(f"window {raw!r} must be between 1m and 366d")
    return window


def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime; naive input is taken as UTC.

    Raises OverflowError for an offset that pushes the instant outside datetime's range.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class TaskFilter:
    statuses: tuple[str, ...] = ()
    route: str | None = None
    sender: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    subject: str | None = None  # a part of the subject, case-insensitive


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    stage: str | None = None
    error_class: str | None = None
    message_key: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    open_only: bool = False


@dataclass(frozen=True, slots=True)
class AlertFilter:
    kind: str | None = None
    severity: str | None = None
    message_key: str | None = None
    since: datetime | None = None
    until: datetime | None = None
