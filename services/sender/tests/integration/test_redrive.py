"""The redrive sweep against the real broker and PostgreSQL.

Each test gets a database of its own: the sweep selects by status and age across the
whole table, so rows other tests leave behind must not be swept (or counted) here.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry import trace
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from mailroom_common.config import KafkaSettings
from mailroom_common.events import AlertEvent, Event, InboundEmail, decode_event, encode_event
from mailroom_common.kafka import connection_kwargs, make_producer, send_event
from mailroom_common.telemetry import context_from_headers
from mailroom_common.topics import ALERTS, INBOUND
from mailroom_sender.metrics import SenderMetrics
from mailroom_sender.redrive import RedriveSweep
from mailroom_sender.redrive_logic import RedrivePolicy, parent_context

from .conftest import Bus, eventually, make_settings, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
async def own_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    from mailroom_common.db.migrate import upgrade

    name = f"mailroom_redrive_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = pg_admin_dsn.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{name}"
        await asyncio.to_thread(upgrade, "head", url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def engine(own_db: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(own_db)
    yield eng
    await eng.dispose()


@dataclass(frozen=True)
class Record:
    key: str | None
    event: Event
    trace_id: str | None
    timestamp_ms: int


async def read_topic(
    kafka: KafkaSettings, topic: str, *, expect: int, settle_s: float = 1.5, timeout_s: float = 20
) -> list[Record]:
    """Every record on ``topic``; reads ``settle_s`` past ``expect`` so extras are seen."""
    consumer = AIOKafkaConsumer(
        topic,
        **connection_kwargs(kafka),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[Record] = []
    try:
        deadline = time.monotonic() + timeout_s
        settle_until: float | None = None
        while time.monotonic() < deadline:
            if len(found) >= expect and settle_until is None:
                settle_until = time.monotonic() + settle_s
            if settle_until is not None and time.monotonic() >= settle_until:
                break
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    ctx = context_from_headers(list(r.headers or ()))
                    span_ctx = trace.get_current_span(ctx).get_span_context()
                    found.append(
                        Record(
                            key=r.key.decode() if r.key is not None else None,
                            event=decode_event(r.value),
                            trace_id=format(span_ctx.trace_id, "032x")
                            if span_ctx.is_valid
                            else None,
                            timestamp_ms=r.timestamp,
                        )
                    )
    finally:
        await consumer.stop()
    return found


def email(tag: str, n: int | str) -> InboundEmail:
    return InboundEmail(
        message_key=f"<{tag}-{n}@cliente.com>",
        thread_key=f"<thread-{tag}-{n}@cliente.com>",
        mailbox="shop@mailroom.test",
        from_address="ana@cliente.com",
        subject="¿Talle M?",
        text="Hola, ¿tienen el jean en talle M?",
        producer="ingest",
    )


async def seed(
    engine: AsyncEngine,
    ev: InboundEmail,
    *,
    status: str = "received",
    age_s: float = 3600,
    original: bool = True,
) -> None:
    then = func.now() - timedelta(seconds=age_s)
    tasks = SQLModel.metadata.tables["email_tasks"]
    async with engine.begin() as conn:
        await conn.execute(
            tasks.insert().values(
                id=uuid.uuid4(),
                message_key=ev.message_key,
                thread_key=ev.thread_key,
                status=status,
                trace_id=TRACE,
                original=json.loads(encode_event(ev)) if original else None,
                created_at=then,
                updated_at=then,
                status_at=then,
            )
        )


async def age(engine: AsyncEngine, key: str, seconds: float = 3600) -> None:
    """Make the task look unchanged for ``seconds`` (instead of waiting that long)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE email_tasks SET updated_at = now() - make_interval(secs => :s)"
                " WHERE message_key = :k"
            ),
            {"s": seconds, "k": key},
        )


async def task_row(engine: AsyncEngine, key: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT status, redrive_count, redrive_alerted_at, original, trace_id"
                    " FROM email_tasks WHERE message_key = :k"
                ),
                {"k": key},
            )
        ).one()
        history = (
            await conn.execute(
                text(
                    "SELECT status, reason, service, trace_id FROM task_status_changes"
                    " WHERE message_key = :k AND service = 'sender-redrive'"
                    " ORDER BY occurred_at, id"
                ),
                {"k": key},
            )
        ).all()
    return {**row._asdict(), "history": [h._asdict() for h in history]}


async def test_a_stuck_task_is_republished_once_per_sweep_then_alerted_once(
    engine: AsyncEngine, bus: Bus
) -> None:
    tag = uuid.uuid4().hex[:8]
    stuck, fresh, busy, bare = (email(tag, n) for n in ("stuck", "fresh", "busy", "bare"))
    await seed(engine, stuck)
    await seed(engine, fresh, age_s=0)
    await seed(engine, busy, status="processing")
    await seed(engine, bare, original=False)  # a placeholder: nothing to republish
    metrics = SenderMetrics.create()
    producer = make_producer(bus.kafka, "redrive-test")
    await producer.start()
    try:
        sweep = RedriveSweep(
            engine,
            producer,
            bus.kafka,
            RedrivePolicy(after_s=60, max_redrives=2),
            batch=100,
            metrics=metrics,
        )
        inbound_topic = bus.kafka.topic(INBOUND)

        first = await sweep.sweep_once()
        again = await sweep.sweep_once()  # same interval: the task was just republished
        assert (first.republished, first.gave_up, again.republished, again.gave_up) == (1, 0, 0, 0)
        records = await read_topic(bus.kafka, inbound_topic, expect=1)
        assert len(records) == 1
        (record,) = records
        assert record.key == stuck.thread_key  # ingest's key: the thread stays in order
        assert record.event == stuck  # unchanged: same event id, same run
        assert record.trace_id == TRACE  # in the email's own trace
        row = await task_row(engine, stuck.message_key)
        assert (row["status"], row["redrive_count"], row["redrive_alerted_at"]) == (
            "received",
            1,
            None,
        )
        assert [(h["status"], h["trace_id"]) for h in row["history"]] == [("received", TRACE)]
        assert row["history"][0]["reason"].startswith("redrive 1/2:")

        await age(engine, stuck.message_key)
        assert (await sweep.sweep_once()).republished == 1
        assert len(await read_topic(bus.kafka, inbound_topic, expect=2)) == 2
        assert (await task_row(engine, stuck.message_key))["redrive_count"] == 2

        # At the limit: one alert instead of a third republish, and then nothing more.
        await age(engine, stuck.message_key)
        gave_up = await sweep.sweep_once()
        assert (gave_up.republished, gave_up.gave_up) == (0, 1)
        await age(engine, stuck.message_key)
        assert (await sweep.sweep_once()).gave_up == 0
        alerts = await read_topic(bus.kafka, bus.kafka.topic(ALERTS), expect=1)
        assert len(alerts) == 1
        alert = alerts[0].event
        assert isinstance(alert, AlertEvent)
        assert (alert.kind, alert.severity.value, alert.message_key) == (
            "redrive_gave_up",
            "critical",
            stuck.message_key,
        )
        assert alert.details["redrive_count"] == 2
        assert stuck.text not in alert.message  # the body stays in the database

        records = await read_topic(bus.kafka, inbound_topic, expect=2)
        assert [r.event for r in records] == [stuck, stuck]
        row = await task_row(engine, stuck.message_key)
        assert row["redrive_count"] == 2
        assert row["redrive_alerted_at"] is not None
        assert [h["reason"].split(":")[0] for h in row["history"]] == [
            "redrive 1/2",
            "redrive 2/2",
            "redrive gave up",
        ]
        for other in (fresh, busy, bare):
            assert (await task_row(engine, other.message_key))["redrive_count"] == 0
        reg = metrics.registry
        assert (
            reg.get_sample_value("mailroom_sender_redrives_total", {"outcome": "republished"}) == 2
        )
        assert reg.get_sample_value("mailroom_sender_redrives_total", {"outcome": "gave_up"}) == 1
    finally:
        await producer.stop()


class SlowProducer:
    """Holds each publish a little, so two sweeps surely overlap while rows are locked."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer

    async def send_and_wait(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.05)
        return await self._producer.send_and_wait(*args, **kwargs)


async def test_two_replicas_sweeping_at_once_publish_each_task_once(
    own_db: str, engine: AsyncEngine, bus: Bus
) -> None:
    tag = uuid.uuid4().hex[:8]
    emails = [email(tag, n) for n in range(12)]
    for ev in emails:
        await seed(engine, ev)
    other_engine = create_async_engine(own_db)
    producer = make_producer(bus.kafka, "redrive-test")
    await producer.start()
    try:
        sweeps = [
            RedriveSweep(
                eng,
                SlowProducer(producer),
                bus.kafka,
                RedrivePolicy(after_s=60, max_redrives=3),
                batch=5,  # several batches each, interleaved between the two replicas
                metrics=SenderMetrics.create(),
            )
            for eng in (engine, other_engine)
        ]
        results = await asyncio.gather(*(s.sweep_once() for s in sweeps))
    finally:
        await producer.stop()
        await other_engine.dispose()
    assert sum(r.republished for r in results) == len(emails)
    records = await read_topic(bus.kafka, bus.kafka.topic(INBOUND), expect=len(emails))
    assert sorted(r.event.message_key for r in records) == sorted(e.message_key for e in emails)  # type: ignore[union-attr]
    for ev in emails:
        assert (await task_row(engine, ev.message_key))["redrive_count"] == 1


async def test_the_projector_process_stores_the_original_and_redrives_it(
    own_db: str, engine: AsyncEngine, bus: Bus
) -> None:
    """Wiring: the projector fills ``original`` and the trace id from mail.inbound, and its
    process runs the sweep on the configured interval; republishes are ``after_s`` apart."""
    after_s = 2.0
    ev = email(uuid.uuid4().hex[:8], "live")
    cfg = make_settings(
        bus.kafka,
        own_db,
        1,
        redrive_after_s=after_s,
        redrive_interval_s=0.2,
        redrive_max=2,
    )
    async with running(cfg, "project"):
        producer = make_producer(bus.kafka, "ingest-test")
        await producer.start()
        try:
            # As ingest publishes it: in a trace, keyed by thread.
            await send_event(
                producer,
                bus.kafka.topic(INBOUND),
                ev,
                key=ev.thread_key,
                ctx=parent_context(TRACE),
            )
        finally:
            await producer.stop()

        async def gave_up() -> bool:
            try:
                row = await task_row(engine, ev.message_key)
            except Exception:
                return False
            return row["redrive_alerted_at"] is not None

        await eventually(gave_up, timeout_s=40)
        # Nothing after giving up, even across several more intervals and thresholds.
        await asyncio.sleep(2 * after_s)
    row = await task_row(engine, ev.message_key)
    assert row["original"] == json.loads(encode_event(ev))
    assert row["trace_id"] == TRACE
    assert row["redrive_count"] == 2
    records = await read_topic(bus.kafka, bus.kafka.topic(INBOUND), expect=3)
    assert [r.event for r in records] == [ev, ev, ev]  # ingest's publish + 2 redrives
    assert all(r.trace_id == TRACE for r in records)
    # One republish per threshold, however often the sweep ran in between.
    gaps_ms = [b.timestamp_ms - a.timestamp_ms for a, b in itertools.pairwise(records)]
    assert all(gap >= after_s * 1000 - 200 for gap in gaps_ms), gaps_ms
    alerts = await read_topic(bus.kafka, bus.kafka.topic(ALERTS), expect=1)
    assert [a.event.kind for a in alerts] == ["redrive_gave_up"]  # type: ignore[union-attr]
