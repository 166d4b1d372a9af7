"""Fixtures for the admin API against the local stack's PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.app import create_app
from mailroom_admin_api.settings import AdminSettings, ServiceSettings
from mailroom_common.config import CommonSettings, DatabaseSettings, KafkaSettings
from mailroom_common.db.models import (
    AlertRecord,
    DeadLetterRecord,
    EmailTask,
    SendLedger,
    TaskStatusChange,
)
from mailroom_common.events import Event, InboundEmail, decode_event
from mailroom_common.kafka import connection_kwargs

TOKEN = "integration-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PG_ADMIN_DSN = os.environ.get(
    "MAILROOM_TEST_PG_DSN", "postgresql://mailroom:mailroom@127.0.0.1:25432/mailroom"
)


def make_settings(database_url: str, kafka: KafkaSettings, **admin: Any) -> ServiceSettings:
    return ServiceSettings(
        admin=AdminSettings(
            api_token=SecretStr(TOKEN),
            tracing_ui_base_url="http://127.0.0.1:16686",
            **admin,
        ),
        kafka=kafka,
        database=DatabaseSettings(url=SecretStr(database_url), pool_size=2),
        common=CommonSettings(environment="test"),
    )


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient
    spans: InMemorySpanExporter


@contextlib.asynccontextmanager
async def running_app(settings: ServiceSettings) -> AsyncIterator[Running]:
    """The app with its lifespan started, and a client talking to it in-process."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = create_app(settings, tracer_provider=provider)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://admin.test", headers=AUTH, timeout=30
        ) as client:
            yield Running(app, client, spans)


@pytest.fixture
async def api(database_url: str, kafka_topics: KafkaSettings) -> AsyncIterator[Running]:
    async with running_app(make_settings(database_url, kafka_topics)) as running:
        yield running


@contextlib.contextmanager
def private_database() -> Iterator[str]:
    """A database of its own, migrated to head, for tests that need exact global figures."""
    from mailroom_common.db.migrate import upgrade

    name = f"mailroom_admin_{uuid.uuid4().hex[:10]}"

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        upgrade("head", url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def own_database_url() -> Iterator[str]:
    with private_database() as url:
        yield url


@dataclass
class Seeder:
    """Inserts committed rows (the app reads through its own connections)."""

    engine: AsyncEngine
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    async def add(self, *rows: Any) -> None:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            session.add_all(rows)
            await session.commit()

    def key(self, n: int | str) -> str:
        return f"<{self.tag}-{n}@mail.example.com>"

    def task(self, n: int | str, *, created_at: datetime, **fields: Any) -> EmailTask:
        values: dict[str, Any] = {
            "message_key": self.key(n),
            "thread_key": self.key(n),
            "mailbox": "shop@mailroom.test",
            "from_address": f"customer{n}@{self.tag}.example.com",
            "subject": f"subject {n}",
            "status": "received",
            "received_at": created_at,
            "created_at": created_at,
            "updated_at": created_at,
            "status_at": created_at,
        }
        values.update(fields)
        return EmailTask(**values)

    def inbound(self, n: int | str, **fields: Any) -> InboundEmail:
        return InboundEmail(
            message_key=self.key(n),
            thread_key=self.key(n),
            mailbox="shop@mailroom.test",
            from_address=f"customer{n}@{self.tag}.example.com",
            subject=f"subject {n}",
            text=f"hola {n}",
            attempt=3,
            producer="ingest",
            **fields,
        )

    def dead_letter(
        self,
        n: int | str,
        *,
        created_at: datetime,
        original: dict[str, Any] | None = None,
        **fields: Any,
    ) -> DeadLetterRecord:
        values: dict[str, Any] = {
            "id": uuid.uuid4(),
            "message_key": self.key(n),
            "stage": "responder",
            "error_class": f"Err{self.tag}",
            "error_message": "provider kept failing",
            "attempts": 3,
            "original_topic": "mail.inbound",
            "original": original
            if original is not None
            else self.inbound(n).model_dump(mode="json"),
            "first_failure_at": created_at - timedelta(minutes=3),
            "last_failure_at": created_at,
            "trace_id": uuid.uuid4().hex,
            "created_at": created_at,
        }
        values.update(fields)
        return DeadLetterRecord(**values)

    def change(self, n: int | str, status: str, at: datetime, **fields: Any) -> TaskStatusChange:
        return TaskStatusChange(
            event_id=uuid.uuid4(), message_key=self.key(n), status=status, occurred_at=at, **fields
        )

    def ledger(self, n: int | str, *, kind: str = "reply", state: str = "sent") -> SendLedger:
        return SendLedger(
            message_key=self.key(n),
            kind=kind,
            smtp_message_id=f"<{uuid.uuid4().hex}@mailroom.test>",
            recipient=f"customer{n}@{self.tag}.example.com",
            state=state,
            sent_at=datetime.now(UTC) if state == "sent" else None,
        )

    def alert(self, n: int, *, at: datetime, **fields: Any) -> AlertRecord:
        values: dict[str, Any] = {
            "id": uuid.uuid4(),
            "kind": f"kind-{self.tag}",
            "severity": "warning",
            "message": f"alert {n}",
            "details": {"n": n},
            "occurred_at": at,
        }
        values.update(fields)
        return AlertRecord(**values)


@pytest.fixture
async def seeder(database_url: str) -> AsyncIterator[Seeder]:
    engine = create_async_engine(database_url)
    try:
        yield Seeder(engine)
    finally:
        await engine.dispose()


def unique_day() -> datetime:
    """A past day no other test uses, so date-range filters isolate a test's rows."""
    offset = uuid.uuid4().int % (365 * 50)
    return datetime(1950, 1, 1, tzinfo=UTC) + timedelta(days=offset)


async def read_topic(
    kafka: KafkaSettings, topic: str, *, expect: int, settle_s: float = 1.5, timeout_s: float = 20
) -> list[tuple[str | None, Event]]:
    """Every record on ``topic`` from the beginning.

    Reads until at least ``expect`` records arrived, then keeps reading ``settle_s`` more
    so an unwanted extra record would be seen too.
    """
    consumer = AIOKafkaConsumer(
        topic,
        **connection_kwargs(kafka),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[tuple[str | None, Event]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        settle_until: float | None = None
        while loop.time() < deadline:
            if len(found) >= expect and settle_until is None:
                settle_until = loop.time() + settle_s
            if settle_until is not None and loop.time() >= settle_until:
                break
            batches = await consumer.getmany(timeout_ms=250)
            for records in batches.values():
                for r in records:
                    key = r.key.decode() if r.key is not None else None
                    found.append((key, decode_event(r.value)))
    finally:
        await consumer.stop()
    return found


async def wait_for(predicate: Any, *, timeout_s: float = 15, interval_s: float = 0.2) -> Any:
    """Poll an async predicate until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"condition not met within {timeout_s}s (last: {value!r})")
        await asyncio.sleep(interval_s)


@dataclass(frozen=True)
class Tools:
    """Helpers handed to tests as a fixture (test modules cannot import a conftest)."""

    token: str = TOKEN
    auth: dict[str, str] = field(default_factory=lambda: dict(AUTH))
    make_settings: Any = make_settings
    running_app: Any = running_app
    read_topic: Any = read_topic
    wait_for: Any = wait_for
    unique_day: Any = unique_day
    seeder_cls: Any = Seeder


@pytest.fixture
def tools() -> Tools:
    return Tools()
