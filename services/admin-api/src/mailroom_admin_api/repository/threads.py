"""``thread_owners`` (written by ingest): the owned threads, and their release.

Every time is PostgreSQL's ``now()``: ingest writes ``last_activity_at`` with it and the
responder's owner cache reads ``updated_at`` against it, so a release is seen on the same
clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Uuid, cast, func, literal, true, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.pagination import Cursor
from mailroom_admin_api.repository._keyset import after_cursor
from mailroom_common.db.models import EmailTask, ThreadOwner

__all__ = ["OwnedThreadRow", "Released", "count_owned", "list_owned", "release"]


@dataclass(frozen=True, slots=True)
class OwnedThreadRow:
    """One owned conversation, aggregated over its unreleased rows."""

    thread: str
    # The keyset tie-breaker: md5(thread) as a UUID, so the (timestamp, UUID) cursors of
    # every other listing serve here too.
    sort_key: uuid.UUID
    reason: str
    message_key: str
    owned_since: datetime
    last_activity_at: datetime
    ids: int
    subject: str | None
    from_address: str | None
    task_id: uuid.UUID | None = None  # that message's task, once projected


@dataclass(frozen=True, slots=True)
class Released:
    rows: int
    released_at: datetime


def _unreleased() -> Any:
    return col(ThreadOwner.released_at).is_(None)


def _cutoff(quiet: timedelta) -> Any:
    return func.now() - literal(quiet)


def _owned_groups(quiet: timedelta) -> Any:
    """thread, owned_since, last_activity_at, ids of each owned thread (a subquery)."""
    last = func.max(col(ThreadOwner.last_activity_at))
    return (
        select(
            col(ThreadOwner.thread).label("thread"),
            func.min(col(ThreadOwner.owned_since)).label("owned_since"),
            last.label("last_activity_at"),
            func.count().label("ids"),
        )
        .where(_unreleased())
        .group_by(col(ThreadOwner.thread))
        .having(last > _cutoff(quiet))
        .subquery("owned")
    )


def _latest_row(thread: Any) -> Any:
    """The newest-activity unreleased row of ``thread`` (ties: the most recently owned, then
    the id): it carries the thread's reason and message. A LATERAL lookup, run only for the
    threads of the page (one index range per thread, ``ix_thread_owners_thread``)."""
    return (
        select(
            col(ThreadOwner.reason).label("reason"),
            col(ThreadOwner.message_key).label("message_key"),
        )
        .where(col(ThreadOwner.thread) == thread, _unreleased())
        .order_by(
            col(ThreadOwner.last_activity_at).desc(),
            col(ThreadOwner.owned_since).desc(),
            col(ThreadOwner.thread_id).desc(),
        )
        .limit(1)
        .lateral("latest")
    )


async def list_owned(
    session: AsyncSession, quiet: timedelta, cursor: Cursor | None, limit: int
) -> Sequence[OwnedThreadRow]:
    """Owned threads, most recent activity first, with their task's subject and sender."""
    owned = _owned_groups(quiet)
    sort_key = cast(func.md5(owned.c.thread), Uuid(as_uuid=True))
    page_columns: list[Any] = [
        owned.c.thread,
        sort_key.label("sort_key"),
        owned.c.owned_since,
        owned.c.last_activity_at,
        owned.c.ids,
    ]
    page_stmt = select(*page_columns)
    if cursor is not None:
        page_stmt = page_stmt.where(after_cursor(owned.c.last_activity_at, sort_key, cursor))
    page = (
        page_stmt.order_by(owned.c.last_activity_at.desc(), sort_key.desc())
        .limit(limit)
        .subquery("page")
    )
    latest = _latest_row(page.c.thread)
    columns: list[Any] = [
        page.c.thread,
        page.c.sort_key,
        latest.c.reason,
        latest.c.message_key,
        page.c.owned_since,
        page.c.last_activity_at,
        page.c.ids,
        col(EmailTask.subject),
        col(EmailTask.from_address),
        col(EmailTask.id).label("task_id"),
    ]
    stmt = (
        select(*columns)
        .select_from(page)
        .join(latest, true())
        .outerjoin(EmailTask, col(EmailTask.message_key) == latest.c.message_key)
        .order_by(page.c.last_activity_at.desc(), page.c.sort_key.desc())
    )
    rows = (await session.exec(stmt)).all()
    return [
        OwnedThreadRow(
            thread=str(r.thread),
            sort_key=r.sort_key,
            reason=str(r.reason),
            message_key=str(r.message_key),
            owned_since=r.owned_since,
            last_activity_at=r.last_activity_at,
            ids=int(r.ids),
            subject=r.subject,
            from_address=r.from_address,
            task_id=r.task_id,
        )
        for r in rows
    ]


async def count_owned(session: AsyncSession, quiet: timedelta) -> int:
    stmt = select(func.count()).select_from(_owned_groups(quiet))
    return int((await session.exec(stmt)).one())


async def release(
    session: AsyncSession, thread: str, quiet: timedelta, released_by: str
) -> Released | None:
    """Release every unreleased row of ``thread`` inside the caller's transaction; None (and
    nothing changed) unless the thread is owned now.

    One statement: a concurrent release waits for the first one's row locks, then finds the
    rows released and changes nothing.
    """
    other = ThreadOwner.__table__.alias("other")  # type: ignore[attr-defined]
    owned_now = (
        select(literal(1))
        .select_from(other)
        .where(
            other.c.thread == thread,
            other.c.released_at.is_(None),
            other.c.last_activity_at > _cutoff(quiet),
        )
        .exists()
    )
    stmt = (
        update(ThreadOwner)
        .where(col(ThreadOwner.thread) == thread, _unreleased(), owned_now)
        .values(released_at=func.now(), released_by=released_by, updated_at=func.now())
        .returning(col(ThreadOwner.released_at))
    )
    stamps = (await session.exec(stmt)).scalars().all()
    if not stamps:
        return None
    return Released(rows=len(stamps), released_at=stamps[0])
