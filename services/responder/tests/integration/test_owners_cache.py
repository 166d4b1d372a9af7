"""OwnerCache against the real PostgreSQL (#14 item 4): loaded, refreshed, released."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mailroom_responder.owners_store import OwnerCache

pytestmark = pytest.mark.integration

DAY = 86_400.0


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_url)
    try:
        yield eng
    finally:
        await eng.dispose()


async def sql(database_url: str, statement: str, *args: Any) -> None:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


INSERT = (
    "INSERT INTO thread_owners (thread_id, thread, reason, message_key, last_activity_at)"
    " VALUES ($1, $2, $3, $1, now() - make_interval(days => $4))"
)


async def test_owned_rows_loaded_then_changes_followed(
    engine: AsyncEngine, database_url: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    root, m1, old, fresh = (f"<{n}-{tag}@customer.example>" for n in ("r", "m1", "old", "new"))
    try:
        await sql(database_url, INSERT, root, root, "chargeback", 0)
        await sql(database_url, INSERT, m1, root, "chargeback", 0)
        await sql(database_url, INSERT, old, old, "refund", 20)  # quiet for 20 days
        cache = OwnerCache(engine, quiet_s=14 * DAY, refresh_s=0.05)
        runner = asyncio.create_task(cache.run())
        try:
            assert await asyncio.wait_for(cache.owner_of([f"<x-{tag}>", m1]), 10) == "chargeback"
            assert await cache.owner_of([old]) is None
            assert await cache.owner_of([fresh]) is None
            # a new owner, then a release, are seen by the next refreshes
            await sql(database_url, INSERT, fresh, fresh, "a person at the shop replied", 0)
            await sql(
                database_url,
                "UPDATE thread_owners SET released_at = now(), updated_at = now()"
                " WHERE thread = $1",
                root,
            )

            async def settled() -> bool:
                return (
                    await cache.owner_of([fresh]) == "a person at the shop replied"
                    and await cache.owner_of([m1]) is None
                )

            for _ in range(200):
                if await settled():
                    break
                await asyncio.sleep(0.05)
            assert await settled()
            assert cache.failures == 0
        finally:
            runner.cancel()
    finally:
        await sql(
            database_url,
            "DELETE FROM thread_owners WHERE thread = ANY($1::text[])",
            [root, old, fresh],
        )


async def test_nothing_is_decided_before_the_first_load() -> None:
    dead = create_async_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/none")
    cache = OwnerCache(dead, quiet_s=DAY, refresh_s=0.05, retry_max_s=0.1)
    runner = asyncio.create_task(cache.run())
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(cache.owner_of(["<a@b>"]), 1.5)
        assert cache.failures >= 1
        assert not cache.ready
    finally:
        runner.cancel()
        await dead.dispose()
