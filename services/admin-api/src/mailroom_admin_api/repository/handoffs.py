"""Reads of ``email_tasks`` waiting for a person, oldest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.pagination import Cursor
from mailroom_admin_api.repository._keyset import after_cursor
from mailroom_admin_api.waiting import HandoffFilter
from mailroom_common.db.models import EmailTask

__all__ = ["count_waiting", "list_waiting"]


def _waiting_since() -> Any:
    # status_at is set by the projector; created_at only covers rows from before it was.
    return func.coalesce(col(EmailTask.status_at), col(EmailTask.created_at))


def _matching(stmt: Any, flt: HandoffFilter) -> Any:
    since = _waiting_since()
    stmt = stmt.where(col(EmailTask.status).in_(flt.statuses))
    if flt.since is not None:
        stmt = stmt.where(since >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(since < flt.until)
    return stmt


async def list_waiting(
    session: AsyncSession, flt: HandoffFilter, cursor: Cursor | None, limit: int
) -> Sequence[tuple[EmailTask, datetime]]:
    """(task, waiting since) pairs, longest-waiting first."""
    since = _waiting_since()
    stmt = _matching(select(EmailTask, since.label("waiting_since")), flt)
    if cursor is not None:
        stmt = stmt.where(after_cursor(since, col(EmailTask.id), cursor, ascending=True))
    stmt = stmt.order_by(since.asc(), col(EmailTask.id).asc()).limit(limit)
    rows = (await session.exec(stmt)).all()
    return [(task, at) for task, at in rows]


async def count_waiting(session: AsyncSession, flt: HandoffFilter) -> int:
    stmt = _matching(select(func.count()).select_from(EmailTask), flt)
    return int((await session.exec(stmt)).one())
