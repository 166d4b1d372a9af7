"""The newest-first listings: tasks, dead letters and alerts, one cursor scheme."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.filters import AlertFilter, DeadLetterFilter, TaskFilter
from mailroom_admin_api.pagination import Cursor, InvalidCursor, decode_cursor, encode_cursor
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.reasons import DELIVERY_SERVICE
from mailroom_admin_api.repository import alerts as alerts_repo
from mailroom_admin_api.repository import dead_letters as dead_letters_repo
from mailroom_admin_api.repository import tasks as tasks_repo
from mailroom_admin_api.schemas import AlertPage, DeadLetterPage, TaskPage
from mailroom_admin_api.services._convert import alert_out, dead_letter_out, task_summary

__all__ = ["list_alerts", "list_dead_letters", "list_tasks", "parse_cursor"]

R = TypeVar("R")


def parse_cursor(raw: str | None) -> Cursor | None:
    if raw is None:
        return None
    try:
        return decode_cursor(raw)
    except InvalidCursor as exc:
        raise ProblemError(400, "Invalid cursor", str(exc), kind="invalid-cursor") from exc


async def _page(
    fetch: Callable[[Cursor | None, int], Awaitable[Sequence[R]]],
    position: Callable[[R], tuple[datetime | None, object]],
    cursor: str | None,
    limit: int,
) -> tuple[list[R], str | None]:
    # One extra row tells whether a next page exists without a COUNT query.
    rows = list(await fetch(parse_cursor(cursor), limit + 1))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    at, row_id = position(rows[-1])
    assert at is not None
    return rows, encode_cursor(at, row_id)


async def list_tasks(
    session: AsyncSession, flt: TaskFilter, cursor: str | None, limit: int
) -> TaskPage:
    rows, next_cursor = await _page(
        lambda c, n: tasks_repo.list_tasks(session, flt, c, n),
        lambda t: (t.created_at, t.id),
        cursor,
        limit,
    )
    reasons = await tasks_repo.latest_decision_reasons(
        session, [t.message_key for t in rows], DELIVERY_SERVICE
    )
    return TaskPage(
        items=[task_summary(t, reasons.get(t.message_key)) for t in rows],
        next_cursor=next_cursor,
    )


async def list_dead_letters(
    session: AsyncSession, flt: DeadLetterFilter, cursor: str | None, limit: int
) -> DeadLetterPage:
    rows, next_cursor = await _page(
        lambda c, n: dead_letters_repo.list_dead_letters(session, flt, c, n),
        lambda d: (d.created_at, d.id),
        cursor,
        limit,
    )
    return DeadLetterPage(items=[dead_letter_out(d) for d in rows], next_cursor=next_cursor)


async def list_alerts(
    session: AsyncSession, flt: AlertFilter, cursor: str | None, limit: int
) -> AlertPage:
    rows, next_cursor = await _page(
        lambda c, n: alerts_repo.list_alerts(session, flt, c, n),
        lambda a: (a.occurred_at, a.id),
        cursor,
        limit,
    )
    return AlertPage(items=[alert_out(a) for a in rows], next_cursor=next_cursor)
