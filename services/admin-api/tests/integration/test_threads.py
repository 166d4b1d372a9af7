"""GET /v1/threads/owned and POST /v1/threads/{thread}/release against PostgreSQL.

The test database is shared by every test of the run (ingest's owner tests write
``thread_owners`` too), so each test uses thread ids of its own, looks only for them, and
removes its rows afterwards; the paging test, which needs exact figures, runs on a database
of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.db.models import EmailTask, ThreadOwner

pytestmark = pytest.mark.integration

QUIET_DAYS = 14.0  # CommonSettings' default; the test settings do not change it


@dataclass
class Threads:
    """Inserts ``thread_owners`` rows under a tag of its own; removes them (and the tasks
    it added) afterwards."""

    engine: AsyncEngine
    seeder: Any
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def id(self, name: str) -> str:
        # A slash as some clients put in Message-IDs: the route must take it URL-encoded.
        return f"<{name}.{self.tag}/x@mail.example.com>"

    def row(
        self,
        thread: str,
        thread_id: str,
        *,
        activity: timedelta,
        owned: timedelta | None = None,
        reason: str = "handed off to a person",
        message_key: str | None = None,
        released: bool = False,
    ) -> ThreadOwner:
        now = datetime.now(UTC)
        return ThreadOwner(
            thread_id=thread_id,
            thread=thread,
            reason=reason,
            message_key=message_key or thread_id,
            owned_since=now - (owned if owned is not None else activity),
            last_activity_at=now - activity,
            released_at=now - activity if released else None,
            released_by="operator" if released else None,
            updated_at=now - activity,
        )

    async def add(self, *rows: Any) -> None:
        await self.seeder.add(*rows)

    async def rows(self, thread: str) -> list[ThreadOwner]:
        async with AsyncSession(self.engine) as session:
            stmt = select(ThreadOwner).where(col(ThreadOwner.thread) == thread)
            return list((await session.exec(stmt)).all())

    async def cleanup(self) -> None:
        async with AsyncSession(self.engine) as session:
            pattern = f"%.{self.tag}/x@%"
            await session.exec(delete(ThreadOwner).where(col(ThreadOwner.thread).like(pattern)))
            await session.exec(delete(EmailTask).where(col(EmailTask.message_key).like(pattern)))
            await session.commit()


@pytest.fixture
async def threads(database_url: str, seeder: Any) -> AsyncIterator[Threads]:
    engine = create_async_engine(database_url)
    made = Threads(engine, seeder)
    try:
        yield made
    finally:
        await made.cleanup()
        await engine.dispose()


def _path(thread: str) -> str:
    return f"/v1/threads/{quote(thread, safe='')}/release"


async def _all_owned(client: httpx.AsyncClient, limit: int = 200) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    for _ in range(1000):
        response = await client.get("/v1/threads/owned", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]
    raise AssertionError("the listing never ended")


async def _mine(client: httpx.AsyncClient, threads: Threads) -> dict[str, dict[str, Any]]:
    return {i["thread"]: i for i in await _all_owned(client) if threads.tag in i["thread"]}


async def test_owned_threads_listed_quiet_and_released_ones_not(
    api: Any, threads: Threads, seeder: Any
) -> None:
    owned, quiet, released = threads.id("owned"), threads.id("quiet"), threads.id("released")
    reply = threads.id("owned-reply")
    stale_id = threads.id("owned-stale")
    await threads.add(
        # The hand-off, and a later customer mail that joined the thread.
        threads.row(owned, owned, activity=timedelta(hours=5), owned=timedelta(days=3)),
        threads.row(
            owned,
            reply,
            activity=timedelta(hours=1),
            owned=timedelta(days=1),
            reason="a person at the shop replied",
            message_key=reply,
        ),
        # A row released earlier (by an older release) does not count, however fresh.
        threads.row(owned, stale_id, activity=timedelta(minutes=1), released=True),
        threads.row(quiet, quiet, activity=timedelta(days=20)),
        threads.row(released, released, activity=timedelta(hours=2), released=True),
        seeder.task(
            "t",
            created_at=datetime.now(UTC),
            message_key=reply,
            subject="Re: Quiero devolver el pedido",
            from_address="ana@example.com",
        ),
    )
    before = datetime.now(UTC)
    response = await api.client.get("/v1/threads/owned")
    assert response.status_code == 200, response.text
    assert response.json()["total_owned"] >= 1

    mine = await _mine(api.client, threads)
    assert set(mine) == {owned}
    item = mine[owned]
    # The newest unreleased row's reason and message, with its task's subject and sender.
    assert item["reason"] == "a person at the shop replied"
    assert item["message_key"] == reply
    assert (item["subject"], item["from_address"]) == (
        "Re: Quiero devolver el pedido",
        "ana@example.com",
    )
    assert item["ids"] == 2
    owned_since = datetime.fromisoformat(item["owned_since"])
    last = datetime.fromisoformat(item["last_activity_at"])
    assert abs((before - owned_since) - timedelta(days=3)) < timedelta(minutes=1)
    assert abs((before - last) - timedelta(hours=1)) < timedelta(minutes=1)
    assert datetime.fromisoformat(item["quiet_until"]) == last + timedelta(days=QUIET_DAYS)


async def test_a_thread_without_a_task_has_no_subject(api: Any, threads: Threads) -> None:
    bare = threads.id("bare")
    await threads.add(threads.row(bare, bare, activity=timedelta(minutes=5)))
    item = (await _mine(api.client, threads))[bare]
    assert (item["subject"], item["from_address"], item["ids"]) == (None, None, 1)


async def test_release_gives_the_thread_back_once(api: Any, threads: Threads) -> None:
    thread, other = threads.id("release"), threads.id("release-other")
    joined = threads.id("release-joined")
    old_quiet = threads.id("release-quiet-row")
    await threads.add(
        threads.row(thread, thread, activity=timedelta(hours=3)),
        threads.row(thread, joined, activity=timedelta(hours=1)),
        # An unreleased row of the thread that is quiet on its own is released with it.
        threads.row(thread, old_quiet, activity=timedelta(days=30)),
        threads.row(other, other, activity=timedelta(hours=1)),
    )
    assert set(await _mine(api.client, threads)) == {thread, other}

    before = datetime.now(UTC)
    response = await api.client.post(_path(thread))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["thread"] == thread
    assert body["released"] == 3
    assert body["released_by"] == "operator"
    released_at = datetime.fromisoformat(body["released_at"])
    assert abs(released_at - before) < timedelta(minutes=1)

    rows = await threads.rows(thread)
    assert len(rows) == 3
    for row in rows:
        assert row.released_at == released_at
        assert row.released_by == "operator"
        # updated_at moves, so the responder's owner cache sees the release.
        assert row.updated_at == released_at
    assert all(r.released_at is None for r in await threads.rows(other))

    assert set(await _mine(api.client, threads)) == {other}

    again = await api.client.post(_path(thread))
    assert again.status_code == 404, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"] == "/problems/thread-not-owned"
    assert all(r.released_at == released_at for r in await threads.rows(thread))


async def test_quiet_or_unknown_threads_cannot_be_released(api: Any, threads: Threads) -> None:
    quiet = threads.id("quiet-release")
    await threads.add(threads.row(quiet, quiet, activity=timedelta(days=20)))
    for thread in (quiet, threads.id("never-owned")):
        response = await api.client.post(_path(thread))
        assert response.status_code == 404, response.text
        assert response.json()["type"] == "/problems/thread-not-owned"
    # Nothing changed: the quiet row stays as ingest left it.
    assert [r.released_at for r in await threads.rows(quiet)] == [None]


async def test_pages_most_recent_activity_first(
    own_database_url: str, kafka_topics: Any, tools: Any
) -> None:
    engine = create_async_engine(own_database_url)
    threads = Threads(engine, tools.seeder_cls(engine))
    try:
        names = [threads.id(f"page{n}") for n in range(5)]
        # page0 is the most recent; page2 and page3 tie on their activity time.
        at = datetime.now(UTC) - timedelta(hours=1)
        times = [at, at - timedelta(minutes=1), at - timedelta(minutes=2)]
        times += [times[2], at - timedelta(minutes=3)]
        rows = [threads.row(name, name, activity=timedelta(0)) for name in names]
        for row, when in zip(rows, times, strict=True):
            row.last_activity_at = when
        await threads.add(
            *rows,
            threads.row(threads.id("quiet"), threads.id("quiet"), activity=timedelta(days=20)),
            threads.row(
                threads.id("gone"), threads.id("gone"), activity=timedelta(0), released=True
            ),
        )
        async with tools.running_app(tools.make_settings(own_database_url, kafka_topics)) as app:
            whole = (await app.client.get("/v1/threads/owned")).json()
            assert whole["total_owned"] == 5
            assert whole["next_cursor"] is None
            order = [i["thread"] for i in whole["items"]]
            assert order[:2] == names[:2]
            assert set(order[2:4]) == set(names[2:4])
            assert order[4] == names[4]

            # Pages of 1 split the tie across a page boundary; pages of 2 do not.
            for limit in (1, 2):
                seen: list[str] = []
                params: dict[str, Any] = {"limit": limit}
                for _ in range(10):
                    page = (await app.client.get("/v1/threads/owned", params=params)).json()
                    assert page["total_owned"] == 5
                    assert len(page["items"]) <= limit
                    seen.extend(i["thread"] for i in page["items"])
                    if page["next_cursor"] is None:
                        break
                    params["cursor"] = page["next_cursor"]
                assert seen == order, limit

            bad = await app.client.get("/v1/threads/owned", params={"cursor": "not-a-cursor"})
            assert bad.status_code == 400
            assert bad.json()["type"] == "/problems/invalid-cursor"
            too_many = await app.client.get("/v1/threads/owned", params={"limit": 201})
            assert too_many.status_code == 422
    finally:
        await engine.dispose()


async def test_threads_need_the_token(api: Any, threads: Threads) -> None:
    thread = threads.id("auth")
    await threads.add(threads.row(thread, thread, activity=timedelta(hours=1)))
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as anonymous:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token-wrong"}):
            for method, path in (("GET", "/v1/threads/owned"), ("POST", _path(thread))):
                response = await anonymous.request(method, path, headers=headers)
                assert response.status_code == 401, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["www-authenticate"].startswith("Bearer")
    # Refused before anything was looked at: the thread is still owned.
    assert [r.released_at for r in await threads.rows(thread)] == [None]
