"""OwnerCache against the real PostgreSQL (#14 item 4): loaded, refreshed, released."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mailroom_responder.owners_store import OwnerCache

pytestmark = pytest.mark.integration

DAY = 86_400.0


INSERT = (
    "INSERT INTO thread_owners (thread_id, thread, reason, message_key, last_activity_at)"
    " VALUES ($1, $2, $3, $1, now() - make_interval(days => $4))"
)


async def test_owned_rows_loaded_then_changes_followed(db_engine: AsyncEngine, pg: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    root, m1, old, fresh = (f"<{n}-{tag}@customer.example>" for n in ("r", "m1", "old", "new"))
    try:
        await pg(INSERT, root, root, "chargeback", 0)
        await pg(INSERT, m1, root, "chargeback", 0)
        await pg(INSERT, old, old, "refund", 20)  # quiet for 20 days
        cache = OwnerCache(db_engine, quiet_s=14 * DAY, refresh_s=0.05)
        runner = asyncio.create_task(cache.run())
        try:
            assert (
                await asyncio.wait_for(cache.owner_of([f"<x-{tag}>", m1], "<next>"), 10)
                == "chargeback"
            )
            assert await cache.owner_of([old], "<next>") is None
            assert await cache.owner_of([fresh], "<next>") is None
            # a new owner, then a release, are seen by the next refreshes
            await pg(INSERT, fresh, fresh, "a person at the shop replied", 0)
            await pg(
                "UPDATE thread_owners SET released_at = now(), updated_at = now()"
                " WHERE thread = $1",
                root,
            )

            async def settled() -> bool:
                return (
                    await cache.owner_of([fresh], "<next>") == "a person at the shop replied"
                    and await cache.owner_of([m1], "<next>") is None
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
        await pg(
            "DELETE FROM thread_owners WHERE thread = ANY($1::text[])",
            [root, old, fresh],
        )


async def test_nothing_is_decided_before_the_first_load() -> None:
    dead = create_async_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/none")
    cache = OwnerCache(dead, quiet_s=DAY, refresh_s=0.05, retry_max_s=0.1)
    runner = asyncio.create_task(cache.run())
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(cache.owner_of(["<a@b>"], "<next>"), 1.5)
        assert cache.failures >= 1
        assert not cache.ready
    finally:
        runner.cancel()
        await dead.dispose()
