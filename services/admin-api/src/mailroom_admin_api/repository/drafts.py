"""Reads of ``reply_drafts`` (written by the sender) with their tasks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.pagination import Cursor
from mailroom_admin_api.repository._keyset import after_cursor
from mailroom_common.db.models import DraftState, EmailTask, ReplyDraft

__all__ = ["PendingDraft", "drafts_for", "list_pending", "task_status"]


@dataclass(frozen=True, slots=True)
class PendingDraft:
    """A pending draft with what its task knows of the customer's mail (None: no task yet)."""

    draft: ReplyDraft
    task_id: uuid.UUID | None
    from_address: str | None
    subject: str | None
    original: dict[str, Any] | None


async def list_pending(
    session: AsyncSession, cursor: Cursor | None, limit: int
) -> Sequence[PendingDraft]:
    """Drafts waiting for a person, newest first, with their task's id, the customer's
    address and subject, and the stored original (the customer's text)."""
    created = col(ReplyDraft.created_at)
    columns: list[Any] = [
        ReplyDraft,
        col(EmailTask.id),
        col(EmailTask.from_address),
        col(EmailTask.subject),
        col(EmailTask.original),
    ]
    stmt = (
        select(*columns)
        .outerjoin(EmailTask, col(EmailTask.message_key) == col(ReplyDraft.message_key))
        .where(ReplyDraft.state == DraftState.FILED)
    )
    if cursor is not None:
        stmt = stmt.where(after_cursor(created, col(ReplyDraft.id), cursor))
    stmt = stmt.order_by(created.desc(), col(ReplyDraft.id).desc()).limit(limit)
    return [PendingDraft(*row) for row in (await session.exec(stmt)).all()]


async def drafts_for(session: AsyncSession, message_key: str) -> Sequence[ReplyDraft]:
    stmt = (
        select(ReplyDraft)
        .where(ReplyDraft.message_key == message_key)
        .order_by(col(ReplyDraft.created_at))
    )
    return (await session.exec(stmt)).all()


async def task_status(session: AsyncSession, message_key: str) -> str | None:
    stmt = select(EmailTask.status).where(EmailTask.message_key == message_key)
    return (await session.exec(stmt)).first()
