"""``routing_corrections``: at most one operator's correction per task (by message key)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.db.models import Product, RoutingCorrection

__all__ = ["delete_for", "get", "unknown_skus", "upsert"]


async def get(session: AsyncSession, message_key: str) -> RoutingCorrection | None:
    stmt = select(RoutingCorrection).where(RoutingCorrection.message_key == message_key)
    return (await session.exec(stmt)).first()


async def upsert(session: AsyncSession, row: RoutingCorrection) -> None:
    """Insert or replace the task's correction inside the caller's transaction.

    The same label again changes nothing, not even ``corrected_at``; concurrent calls
    for one task serialise on the primary key, the last one wins.
    """
    table = RoutingCorrection.__table__  # type: ignore[attr-defined]
    values = {
        "message_key": row.message_key,
        "route": row.route,
        "intent": row.intent,
        "product_skus": list(row.product_skus),
        "note": row.note,
        "decided_route": row.decided_route,
        "corrected_by": row.corrected_by,
    }
    stmt = insert(table).values(**values)
    # Changed when any part of the label, or the decision it corrects, differs.
    compared = ("route", "intent", "product_skus", "note", "decided_route")
    stmt = stmt.on_conflict_do_update(
        index_elements=["message_key"],
        set_={
            **{name: stmt.excluded[name] for name in values if name != "message_key"},
            "corrected_at": func.now(),
        },
        # JSONB compares by value, so the same list of SKUs again is "not distinct".
        where=or_(*(table.c[n].is_distinct_from(stmt.excluded[n]) for n in compared)),
    )
    await session.exec(stmt)


async def delete_for(session: AsyncSession, message_key: str) -> bool:
    """Remove the task's correction; False when there was none."""
    stmt = delete(RoutingCorrection).where(col(RoutingCorrection.message_key) == message_key)
    result = await session.exec(stmt)
    return bool(result.rowcount)


async def unknown_skus(session: AsyncSession, skus: Sequence[str]) -> list[str]:
    """The SKUs of ``skus`` that no product of the catalogue has (active or not)."""
    if not skus:
        return []
    stmt = select(Product.sku).where(col(Product.sku).in_(skus))
    known = set((await session.exec(stmt)).all())
    return [s for s in skus if s not in known]
