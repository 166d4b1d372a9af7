"""``reprocess_requests``: one row per Idempotency-Key the admin API has acted on."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.db.models import ReprocessRequest

__all__ = ["claim", "for_message_key", "get"]


async def claim(
    session: AsyncSession, request_key: str, message_key: str, earlier_trace_id: str | None
) -> ReprocessRequest | None:
    """Insert the key inside the caller's transaction; None when it already exists.

    A concurrent call with the same key waits on the primary key until this transaction
    ends, so at most one of them goes on to publish.
    """
    stmt = (
        insert(ReprocessRequest)
        .values(
            request_key=request_key,
            message_key=message_key,
            earlier_trace_id=earlier_trace_id,
        )
        .on_conflict_do_nothing(index_elements=["request_key"])
        .returning(col(ReprocessRequest.created_at))
    )
    created_at = (await session.exec(stmt)).scalar_one_or_none()
    if created_at is None:
        return None
    return ReprocessRequest(
        request_key=request_key,
        message_key=message_key,
        earlier_trace_id=earlier_trace_id,
        created_at=created_at,
    )


async def get(session: AsyncSession, request_key: str) -> ReprocessRequest | None:
    return await session.get(ReprocessRequest, request_key)


async def for_message_key(session: AsyncSession, message_key: str) -> Sequence[ReprocessRequest]:
    """Every reprocess request of one task, oldest first (the operator's actions)."""
    stmt = (
        select(ReprocessRequest)
        .where(ReprocessRequest.message_key == message_key)
        .order_by(col(ReprocessRequest.created_at), col(ReprocessRequest.request_key))
    )
    return (await session.exec(stmt)).all()
