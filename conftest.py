"""Fixtures shared by every package's tests.

Integration tests run against the local stack that ``make test`` starts
(deploy/local/stack.sh) on fixed loopback ports. Each test run gets its own PostgreSQL
database, migrated to head and dropped at the end; each test gets its own Kafka topic
prefix, so tests never see each other's records.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.config import KafkaSettings
from mailroom_common.kafka import make_admin
from mailroom_common.topics import REGISTRY, ensure_topics

PG_ADMIN_DSN = os.environ.get(
    "MAILROOM_TEST_PG_DSN", "postgresql://mailroom:mailroom@127.0.0.1:25432/mailroom"
)
KAFKA_BOOTSTRAP = os.environ.get("MAILROOM_TEST_KAFKA", "127.0.0.1:29092")


def _asyncpg_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    """libpq DSN of the stack's PostgreSQL with rights to create databases."""
    return PG_ADMIN_DSN


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this test run, migrated to head; dropped afterwards."""
    import asyncio

    from mailroom_common.db.migrate import upgrade

    name = f"mailroom_test_{uuid.uuid4().hex[:10]}"

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    url = _asyncpg_url(f"{base}/{name}")
    try:
        upgrade("head", url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_pre_ping=True)
    yield engine
    await engine.dispose()


PgQuery = Callable[..., Awaitable[list[dict[str, Any]]]]


@pytest.fixture
def pg(database_url: str) -> PgQuery:
    """Run one SQL statement on the run's database (asyncpg, ``$1`` parameters); its rows."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def run(sql: str, *args: Any) -> list[dict[str, Any]]:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return run


@pytest.fixture
async def db_session(db_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test."""
    async with db_engine.connect() as conn:
        trans = await conn.begin()
        session = AsyncSession(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield session
        finally:
            await session.close()
            await trans.rollback()


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def kafka_settings(topic_prefix: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=KAFKA_BOOTSTRAP, topic_prefix=topic_prefix)


@pytest.fixture
async def kafka_topics(kafka_settings: KafkaSettings) -> AsyncIterator[KafkaSettings]:
    """Every registry topic created under this test's prefix; deleted afterwards."""
    admin = make_admin(kafka_settings, "tests")
    await admin.start()
    try:
        await ensure_topics(admin, REGISTRY, name_prefix=kafka_settings.topic_prefix)
        yield kafka_settings
    finally:
        # Cleanup must not hide the test's own result.
        with contextlib.suppress(Exception):
            await admin.delete_topics([kafka_settings.topic(s) for s in REGISTRY])
        await admin.close()
