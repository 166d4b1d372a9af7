"""The rules of owned threads, without I/O: the quiet window, an item of the listing, and the
refusal of a release.

A thread is owned while one of its ``thread_owners`` rows is unreleased and its last
activity is within ``MAILROOM_THREAD_QUIET_DAYS`` (``CommonSettings.thread_quiet_days``);
the responder's owner cache applies the same rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.repository.threads import OwnedThreadRow
from mailroom_admin_api.services.corrections_logic import DEFAULT_CORRECTED_BY
from mailroom_admin_api.thread_schemas import OwnedThreadOut

__all__ = [
    "DEFAULT_RELEASED_BY",
    "owned_thread_out",
    "quiet_until",
    "quiet_window",
    "thread_not_owned",
]

# One shared token names nobody: a release is the operator's, as a correction is.
DEFAULT_RELEASED_BY = DEFAULT_CORRECTED_BY


def quiet_window(quiet_days: float) -> timedelta:
    """How long a thread stays owned after its last activity."""
    if quiet_days <= 0:
        raise ValueError("quiet_days must be positive")
    return timedelta(days=quiet_days)


def quiet_until(last_activity_at: datetime, quiet_days: float) -> datetime:
    """When the thread goes back to the bot unless more mail arrives (or it is released)."""
    return last_activity_at + quiet_window(quiet_days)


def owned_thread_out(row: OwnedThreadRow, quiet_days: float) -> OwnedThreadOut:
    return OwnedThreadOut(
        thread=row.thread,
        reason=row.reason,
        message_key=row.message_key,
        owned_since=row.owned_since,
        last_activity_at=row.last_activity_at,
        quiet_until=quiet_until(row.last_activity_at, quiet_days),
        ids=row.ids,
        subject=row.subject,
        from_address=row.from_address,
        task_id=row.task_id,
    )


def thread_not_owned(thread: str) -> ProblemError:
    """The 404 of a release: never owned, released already, or quiet for too long."""
    return ProblemError(
        404,
        "Thread not owned",
        f"Thread {thread} has no owned row: it is unknown, already released, or was quiet "
        "longer than MAILROOM_THREAD_QUIET_DAYS (the bot answers it already).",
        kind="thread-not-owned",
    )
