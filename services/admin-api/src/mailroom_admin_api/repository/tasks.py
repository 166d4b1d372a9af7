"""Reads of ``email_tasks``, ``task_status_changes`` and ``send_ledger``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import distinct_on
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.filters import TaskFilter
from mailroom_admin_api.pagination import Cursor
from mailroom_admin_api.repository._keyset import after_cursor
from mailroom_common.db.models import EmailTask, SendLedger, TaskStatusChange

__all__ = [
    "deliveries",
    "get_by_message_key",
    "get_task",
    "ids_by_message_key",
    "latest_decision_reasons",
    "list_tasks",
    "sent_reply_exists",
    "status_changes",
]


async def list_tasks(
    session: AsyncSession, flt: TaskFilter, cursor: Cursor | None, limit: int
) -> Sequence[EmailTask]:
    created = col(EmailTask.created_at)
    stmt = select(EmailTask)
    if flt.statuses:
        stmt = stmt.where(col(EmailTask.status).in_(flt.statuses))
    if flt.route is not None:
        stmt = stmt.where(EmailTask.route == flt.route)
    if flt.sender is not None:
        stmt = stmt.where(func.lower(EmailTask.from_address) == flt.sender.lower())
    if flt.subject:
        # A part of the subject; LIKE's wildcards in the input are matched literally.
        part = flt.subject.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(col(EmailTask.subject).ilike(f"%{part}%", escape="\\"))
    if flt.since is not None:
        stmt = stmt.where(created >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(created < flt.until)
    if cursor is not None:
        stmt = stmt.where(after_cursor(created, col(EmailTask.id), cursor))
    stmt = stmt.order_by(created.desc(), col(EmailTask.id).desc()).limit(limit)
    return (await session.exec(stmt)).all()


async def latest_decision_reasons(
    session: AsyncSession, message_keys: Sequence[str], delivery_service: str
) -> dict[str, str]:
    """message key -> the newest reason of a status change not reported by the sender."""
    if not message_keys:
        return {}
    key = col(TaskStatusChange.message_key)
    stmt = (
        select(key, col(TaskStatusChange.reason))
        .ext(distinct_on(key))
        .where(key.in_(message_keys))
        .where(col(TaskStatusChange.reason).is_not(None))
        .where(col(TaskStatusChange.service).is_distinct_from(delivery_service))
        .order_by(key, col(TaskStatusChange.occurred_at).desc(), col(TaskStatusChange.id).desc())
    )
    return {k: r for k, r in (await session.exec(stmt)).all() if r}


async def ids_by_message_key(
    session: AsyncSession, message_keys: Sequence[str]
) -> dict[str, uuid.UUID]:
    """message key -> task id, for the keys that have a task."""
    if not message_keys:
        return {}
    stmt = select(EmailTask.message_key, EmailTask.id).where(
        col(EmailTask.message_key).in_(message_keys)
    )
    return dict((await session.exec(stmt)).all())


async def get_task(session: AsyncSession, task_id: uuid.UUID) -> EmailTask | None:
    return await session.get(EmailTask, task_id)


async def get_by_message_key(session: AsyncSession, message_key: str) -> EmailTask | None:
    stmt = select(EmailTask).where(EmailTask.message_key == message_key)
    return (await session.exec(stmt)).first()


async def status_changes(session: AsyncSession, message_key: str) -> Sequence[TaskStatusChange]:
    stmt = (
        select(TaskStatusChange)
        .where(TaskStatusChange.message_key == message_key)
        .order_by(col(TaskStatusChange.occurred_at), col(TaskStatusChange.id))
    )
    return (await session.exec(stmt)).all()


async def deliveries(session: AsyncSession, message_key: str) -> Sequence[SendLedger]:
    stmt = (
        select(SendLedger)
        .where(SendLedger.message_key == message_key)
        .order_by(col(SendLedger.created_at))
    )
    return (await session.exec(stmt)).all()


async def sent_reply_exists(session: AsyncSession, message_key: str) -> bool:
    """True when the ledger says the customer already got the reply.

    Checked besides the task's status because the status is a projection that may lag
    behind the ledger the sender writes first.
    """
    stmt = (
        select(func.count())
        .select_from(SendLedger)
        .where(SendLedger.message_key == message_key)
        .where(SendLedger.kind == "reply")
        .where(SendLedger.state == "sent")
    )
    return bool((await session.exec(stmt)).one())
