"""Reads of ``dead_letters`` and the admin API's one write to it (``reprocessed_at``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.filters import DeadLetterFilter
from mailroom_admin_api.pagination import Cursor
from mailroom_admin_api.repository._keyset import after_cursor
from mailroom_common.db.models import DeadLetterRecord

__all__ = ["for_message_key", "list_dead_letters", "mark_reprocessed"]


async def list_dead_letters(
    session: AsyncSession, flt: DeadLetterFilter, cursor: Cursor | None, limit: int
) -> Sequence[DeadLetterRecord]:
    created = col(DeadLetterRecord.created_at)
    stmt = select(DeadLetterRecord)
    if flt.stage is not None:
        stmt = stmt.where(DeadLetterRecord.stage == flt.stage)
    if flt.error_class is not None:
        stmt = stmt.where(DeadLetterRecord.error_class == flt.error_class)
    if flt.message_key is not None:
        stmt = stmt.where(DeadLetterRecord.message_key == flt.message_key)
    if flt.since is not None:
        stmt = stmt.where(created >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(created < flt.until)
    if flt.open_only:
        stmt = stmt.where(col(DeadLetterRecord.reprocessed_at).is_(None))
    if cursor is not None:
        stmt = stmt.where(after_cursor(created, col(DeadLetterRecord.id), cursor))
    stmt = stmt.order_by(created.desc(), col(DeadLetterRecord.id).desc()).limit(limit)
    return (await session.exec(stmt)).all()


async def for_message_key(session: AsyncSession, message_key: str) -> Sequence[DeadLetterRecord]:
    """Every dead letter of one task, newest first."""
    stmt = (
        select(DeadLetterRecord)
        .where(DeadLetterRecord.message_key == message_key)
        .order_by(col(DeadLetterRecord.created_at).desc(), col(DeadLetterRecord.id).desc())
    )
    return (await session.exec(stmt)).all()


async def mark_reprocessed(session: AsyncSession, message_key: str, at: datetime) -> None:
    """Close every open dead letter of the task: a reprocess answers them all."""
    stmt = (
        update(DeadLetterRecord)
        .where(col(DeadLetterRecord.message_key) == message_key)
        .where(col(DeadLetterRecord.reprocessed_at).is_(None))
        .values(reprocessed_at=at)
    )
    await session.exec(stmt)
