"""The projector: Kafka events → PostgreSQL rows, idempotent by event id.

Each event is applied in its own transaction: first ``processed_events`` gets
(event_id, consumer) — a conflict means the event was applied before and nothing else
happens; then the task row is locked (``FOR UPDATE``; a placeholder row is created first
when the task is unknown, e.g. a status that overtook its inbound email), the pure
:func:`apply_event` computes the new row, and the history row is appended. Offsets are
committed after the batch is in PostgreSQL, so a crash re-applies at most a batch, which
the event ids turn into no-ops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from mailroom_common.events import (
    TERMINAL_STATUSES,
    AlertEvent,
    DeadLetterEvent,
    Event,
    EventDecodeError,
    InboundEmail,
    StatusChanged,
    TaskStatus,
)
from mailroom_common.kafka import decode_record
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import current_trace_id

from .metrics import SenderMetrics
from .projection import TaskRow, affects_task, apply_event

__all__ = ["CONSUMER_NAME", "Projector", "ProjectorRunner"]

log = get_logger(__name__)
tracer = trace.get_tracer("mailroom_sender.projector")

CONSUMER_NAME = "sender-projector"
_ROW_FIELDS = [f.name for f in dataclasses.fields(TaskRow)]


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


class Projector:
    """Applies decoded events to PostgreSQL."""

    def __init__(
        self,
        engine: AsyncEngine,
        consumer_name: str = CONSUMER_NAME,
        metrics: SenderMetrics | None = None,
    ) -> None:
        self._engine = engine
        self._consumer = consumer_name
        self._metrics = metrics
        self._tasks = _table("email_tasks")
        self._history = _table("task_status_changes")
        self._processed = _table("processed_events")
        self._dead = _table("dead_letters")
        self._alerts = _table("alerts")

    async def apply(self, event: Event) -> bool:
        """Apply one event; False if it had been applied before (or is not ours)."""
        if not isinstance(event, InboundEmail | StatusChanged | DeadLetterEvent | AlertEvent):
            return False
        async with self._engine.begin() as conn:
            first_time = await conn.execute(
                insert(self._processed)
                .values(event_id=event.event_id, consumer=self._consumer)
                .on_conflict_do_nothing()
                .returning(self._processed.c.event_id)
            )
            if first_time.scalar_one_or_none() is None:
                return False
            if isinstance(event, AlertEvent):
                await self._alert(conn, event)
                return True
            if isinstance(event, DeadLetterEvent):
                await self._dead_letter(conn, event)
            outcome = await self._task(conn, event) if affects_task(event) else None
        if outcome is not None:
            self._count_outcome(*outcome)
        return True

    def _count_outcome(self, before: TaskRow, after: TaskRow) -> None:
        """Emails by outcome and, for sent replies, received → SMTP-accepted time."""
        if self._metrics is None or after.status == before.status:
            return
        if after.status not in {s.value for s in TERMINAL_STATUSES}:
            return
        route = after.route or "none"
        self._metrics.outcomes.labels(after.status, route).inc()
        if after.status == TaskStatus.SENT.value and after.received_at and after.status_at:
            seconds = (after.status_at - after.received_at).total_seconds()
            self._metrics.end_to_end.labels(route).observe(max(seconds, 0.0))

    async def _alert(self, conn: AsyncConnection, ev: AlertEvent) -> None:
        await conn.execute(
            insert(self._alerts)
            .values(
                id=ev.event_id,
                kind=ev.kind,
                severity=ev.severity.value,
                message=ev.message,
                message_key=ev.message_key,
                details=ev.details,
                occurred_at=ev.occurred_at,
            )
            .on_conflict_do_nothing()
        )

    async def _dead_letter(self, conn: AsyncConnection, ev: DeadLetterEvent) -> None:
        await conn.execute(
            insert(self._dead)
            .values(
                id=ev.event_id,
                message_key=ev.message_key,
                stage=ev.stage,
                error_class=ev.error_class[:255],
                error_message=ev.error_message,
                attempts=ev.attempts,
                original_topic=ev.original_topic,
                original=ev.original,
                first_failure_at=ev.first_failure_at,
                last_failure_at=ev.last_failure_at,
                trace_id=current_trace_id(),
            )
            .on_conflict_do_nothing()
        )

    async def _task(
        self, conn: AsyncConnection, ev: InboundEmail | StatusChanged | DeadLetterEvent
    ) -> tuple[TaskRow, TaskRow]:
        tasks = self._tasks
        # A placeholder makes the row lockable even when a status overtook its email.
        await conn.execute(
            insert(tasks)
            .values(id=uuid.uuid4(), message_key=ev.message_key, status="received")
            .on_conflict_do_nothing(index_elements=["message_key"])
        )
        current = (
            await conn.execute(
                select(*[tasks.c[name] for name in _ROW_FIELDS])
                .where(tasks.c.message_key == ev.message_key)
                .with_for_update()
            )
        ).one()
        row = TaskRow(**dict(current._mapping))
        # The consumer span is a child of the record's trace context: the email's trace.
        new_row, entry = apply_event(row, ev, trace_id=current_trace_id())
        if new_row != row:
            values = {k: v for k, v in dataclasses.asdict(new_row).items() if k != "message_key"}
            await conn.execute(
                tasks.update()
                .where(tasks.c.message_key == ev.message_key)
                .values(**values, updated_at=text("now()"))
            )
        if entry is not None:
            await conn.execute(
                insert(self._history)
                .values(
                    event_id=entry.event_id,
                    message_key=entry.message_key,
                    status=entry.status,
                    reason=entry.reason,
                    service=(entry.service or "")[:64] or None,
                    trace_id=entry.trace_id,
                    occurred_at=entry.occurred_at,
                )
                .on_conflict_do_nothing(index_elements=["event_id"])
            )
        return row, new_row


class ProjectorRunner:
    """Consumes inbound, status, dead-letter and alert topics into PostgreSQL."""

    def __init__(
        self, consumer: Any, projector: Projector, metrics: SenderMetrics, topics: list[str]
    ) -> None:
        self._consumer = consumer
        self._projector = projector
        self._metrics = metrics
        self._topics = topics
        self.ready = False
        # True once a fetch came back empty: every assigned partition is applied up to its
        # end. The redrive sweep waits for it, since a lagging projection would make
        # emails the responder already handled look stuck in 'received'.
        self.caught_up = False

    async def _apply_record(self, record: Any) -> None:
        try:
            decoded = decode_record(record)
        except EventDecodeError as exc:
            # Ingest/responder dead-letter their own bad output; here it is only skipped.
            log.error("projector.undecodable", topic=record.topic, error=str(exc)[:200])
            self._metrics.projected.labels("undecodable", "skipped").inc()
            return
        token = otel_context.attach(decoded.context)
        try:
            with tracer.start_as_current_span(
                f"{record.topic} process", kind=SpanKind.CONSUMER
            ) as span:
                span.set_attribute("messaging.system", "kafka")
                span.set_attribute("messaging.operation", "process")
                span.set_attribute("messaging.destination.name", record.topic)
                span.set_attribute("messaging.kafka.destination.partition", record.partition)
                span.set_attribute("messaging.kafka.message.offset", record.offset)
                with tracer.start_as_current_span("db apply", kind=SpanKind.CLIENT) as db_span:
                    db_span.set_attribute("db.system", "postgresql")
                    applied = await self._projector.apply(decoded.event)
                outcome = "applied" if applied else "duplicate"
                self._metrics.projected.labels(decoded.event.event_type, outcome).inc()
        finally:
            otel_context.detach(token)

    async def run(self, stop: asyncio.Event) -> None:
        self._consumer.subscribe(self._topics)
        self.ready = True
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
                self.caught_up = not batches
                for records in batches.values():
                    for record in records:
                        await self._apply_with_retry(record, stop)
                if batches:
                    await self._consumer.commit()
        finally:
            self.ready = False
            self.caught_up = False

    async def _apply_with_retry(self, record: Any, stop: asyncio.Event) -> None:
        delay = 0.5
        while True:
            try:
                await self._apply_record(record)
                return
            except Exception as exc:
                if stop.is_set():
                    raise
                log.warning("waiting.projector_db", error=str(exc)[:200], retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
