"""Reads of ``alerts``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.filters import AlertFilter
from mailroom_admin_api.pagination import Cursor
from mailroom_admin_api.repository._keyset import after_cursor
from mailroom_common.db.models import AlertRecord

__all__ = ["list_alerts"]


async def list_alerts(
    session: AsyncSession, flt: AlertFilter, cursor: Cursor | None, limit: int
) -> Sequence[AlertRecord]:
    at = col(AlertRecord.occurred_at)
    stmt = select(AlertRecord)
    if flt.kind is not None:
        stmt = stmt.where(AlertRecord.kind == flt.kind)
    if flt.severity is not None:
        stmt = stmt.where(AlertRecord.severity == flt.severity)
    if flt.message_key is not None:
        stmt = stmt.where(AlertRecord.message_key == flt.message_key)
    if flt.since is not None:
        stmt = stmt.where(at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(at < flt.until)
    if cursor is not None:
        stmt = stmt.where(after_cursor(at, col(AlertRecord.id), cursor))
    stmt = stmt.order_by(at.desc(), col(AlertRecord.id).desc()).limit(limit)
    return (await session.exec(stmt)).all()
