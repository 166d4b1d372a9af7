"""Threads a person owns: list them, and release one back to the bot."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.repository import threads as threads_repo
from mailroom_admin_api.services.listing import _page
from mailroom_admin_api.thread_schemas import OwnedThreadPage, ThreadReleaseOut
from mailroom_admin_api.threads_logic import owned_thread_out, quiet_window, thread_not_owned
from mailroom_common.logging import get_logger

__all__ = ["list_owned_threads", "release_thread"]

log = get_logger(__name__)


async def list_owned_threads(
    session: AsyncSession, quiet_days: float, cursor: str | None, limit: int
) -> OwnedThreadPage:
    quiet = quiet_window(quiet_days)
    rows, next_cursor = await _page(
        lambda c, n: threads_repo.list_owned(session, quiet, c, n),
        lambda row: (row.last_activity_at, row.sort_key),
        cursor,
        limit,
    )
    total = await threads_repo.count_owned(session, quiet)
    return OwnedThreadPage(
        items=[owned_thread_out(row, quiet_days) for row in rows],
        next_cursor=next_cursor,
        total_owned=total,
    )


async def release_thread(
    session: AsyncSession, thread: str, quiet_days: float, released_by: str
) -> ThreadReleaseOut:
    """Release every unreleased row of an owned thread; a 404 problem when it is not owned
    (so a second release is a 404 too)."""
    released = await threads_repo.release(session, thread, quiet_window(quiet_days), released_by)
    if released is None:
        await session.rollback()
        raise thread_not_owned(thread)
    await session.commit()
    log.info("thread.released", thread=thread, rows=released.rows, released_by=released_by)
    return ThreadReleaseOut(
        thread=thread,
        released=released.rows,
        released_at=released.released_at,
        released_by=released_by,
    )
