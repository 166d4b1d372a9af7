"""The projector: Kafka events → PostgreSQL rows, idempotent by event id.

The events of one poll are applied in one transaction, a handful of statements whatever
the batch size: first ``processed_events`` gets (event_id, consumer) for all of them — a
conflict means an event was applied before and nothing else happens for it; then the task
rows they touch are locked in message-key order (``FOR UPDATE``; placeholder rows are
created first for unknown tasks, e.g. a status that overtook its inbound email), the pure
:func:`apply_event` computes each event's new row in record order, and the changed rows
and the history rows are written. Offsets are committed after the batch is in PostgreSQL,
so a crash re-applies at most a batch, which the event ids turn into no-ops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from sqlalchemy import Table, bindparam, select, text
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
_UPDATED = [name for name in _ROW_FIELDS if name != "message_key"]
_OURS = (InboundEmail, StatusChanged, DeadLetterEvent, AlertEvent)
TaskEvent = InboundEmail | StatusChanged | DeadLetterEvent


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
        (applied,) = await self.apply_batch([event], [current_trace_id()])
        return applied

    async def apply_batch(
        self, events: Sequence[Event], trace_ids: Sequence[str | None]
    ) -> list[bool]:
        """Apply events in their order, in one transaction; per event, False if it had
        been applied before (earlier, or earlier in this batch) or is not ours.

        ``trace_ids[i]`` is the trace event ``i`` travelled in. The task rows a batch
        touches are locked in message-key order, so two projectors never deadlock.
        """
        applied = [False] * len(events)
        ours = [i for i, ev in enumerate(events) if isinstance(ev, _OURS)]
        if not ours:
            return applied
        outcomes: list[tuple[TaskRow, TaskRow]] = []
        async with self._engine.begin() as conn:
            ids = list(dict.fromkeys(events[i].event_id for i in ours))
            fresh = set(
                (
                    await conn.execute(
                        insert(self._processed)
                        .values([{"event_id": e, "consumer": self._consumer} for e in ids])
                        .on_conflict_do_nothing()
                        .returning(self._processed.c.event_id)
                    )
                ).scalars()
            )
            todo: list[int] = []
            for i in ours:
                if events[i].event_id in fresh:
                    fresh.discard(events[i].event_id)  # a repeat inside the batch is a no-op
                    todo.append(i)
                    applied[i] = True
            await self._alerts_rows(
                conn, [e for i in todo if isinstance(e := events[i], AlertEvent)]
            )
            await self._dead_letter_rows(
                conn,
                [(e, trace_ids[i]) for i in todo if isinstance(e := events[i], DeadLetterEvent)],
            )
            tasked = [
                (ev, trace_ids[i])
                for i in todo
                if isinstance(ev := events[i], TaskEvent) and affects_task(ev)
            ]
            if tasked:
                outcomes = await self._tasks_rows(conn, tasked)
        for before, after in outcomes:
            self._count_outcome(before, after)
        return applied

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

    async def _alerts_rows(self, conn: AsyncConnection, alerts: list[AlertEvent]) -> None:
        if not alerts:
            return
        await conn.execute(
            insert(self._alerts)
            .values(
                [
                    {
                        "id": ev.event_id,
                        "kind": ev.kind,
                        "severity": ev.severity.value,
                        "message": ev.message,
                        "message_key": ev.message_key,
                        "details": ev.details,
                        "occurred_at": ev.occurred_at,
                    }
                    for ev in alerts
                ]
            )
            .on_conflict_do_nothing()
        )

    async def _dead_letter_rows(
        self, conn: AsyncConnection, dead: list[tuple[DeadLetterEvent, str | None]]
    ) -> None:
        if not dead:
            return
        await conn.execute(
            insert(self._dead)
            .values(
                [
                    {
                        "id": ev.event_id,
                        "message_key": ev.message_key,
                        "stage": ev.stage,
                        "error_class": ev.error_class[:255],
                        "error_message": ev.error_message,
                        "attempts": ev.attempts,
                        "original_topic": ev.original_topic,
                        "original": ev.original,
                        "first_failure_at": ev.first_failure_at,
                        "last_failure_at": ev.last_failure_at,
                        "trace_id": trace_id,
                    }
                    for ev, trace_id in dead
                ]
            )
            .on_conflict_do_nothing()
        )

    async def _tasks_rows(
        self, conn: AsyncConnection, tasked: list[tuple[TaskEvent, str | None]]
    ) -> list[tuple[TaskRow, TaskRow]]:
        """Lock (creating placeholders for unknown keys) every task row the events touch,
        apply the events in order in memory, write the changed rows and the history."""
        tasks = self._tasks
        keys = sorted({ev.message_key for ev, _ in tasked})
        # A placeholder makes the row lockable even when a status overtook its email.
        await conn.execute(
            insert(tasks)
            .values([{"id": uuid.uuid4(), "message_key": k, "status": "received"} for k in keys])
            .on_conflict_do_nothing(index_elements=["message_key"])
        )
        locked = await conn.execute(
            select(*[tasks.c[name] for name in _ROW_FIELDS])
            .where(tasks.c.message_key.in_(keys))
            .order_by(tasks.c.message_key)
            .with_for_update()
        )
        rows = {r.message_key: TaskRow(**dict(r._mapping)) for r in locked}
        first = dict(rows)
        outcomes: list[tuple[TaskRow, TaskRow]] = []
        history: list[dict[str, Any]] = []
        for ev, trace_id in tasked:
            before = rows[ev.message_key]
            after, entry = apply_event(before, ev, trace_id=trace_id)
            rows[ev.message_key] = after
            outcomes.append((before, after))
            if entry is not None:
                history.append(
                    {
                        "event_id": entry.event_id,
                        "message_key": entry.message_key,
                        "status": entry.status,
                        "reason": entry.reason,
                        "service": (entry.service or "")[:64] or None,
                        "trace_id": entry.trace_id,
                        "occurred_at": entry.occurred_at,
                    }
                )
        changed = [row for key, row in rows.items() if row != first[key]]
        if changed:
            await conn.execute(
                tasks.update()
                .where(tasks.c.message_key == bindparam("k_message_key"))
                .values(
                    {
                        **{name: bindparam(f"k_{name}") for name in _UPDATED},
                        "updated_at": text("now()"),
                    }
                ),
                [{f"k_{k}": v for k, v in dataclasses.asdict(row).items()} for row in changed],
            )
        if history:
            await conn.execute(
                insert(self._history)
                .values(history)
                .on_conflict_do_nothing(index_elements=["event_id"])
            )
        return outcomes


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

    async def _apply_records(self, records: list[Any]) -> None:
        """One poll's records in one transaction, each with its consumer span (a child of
        the record's trace) and a ``db apply`` span that lasts until the batch is written."""
        events: list[Event] = []
        spans: list[tuple[Span, Span]] = []
        for record in records:
            try:
                decoded = decode_record(record)
            except EventDecodeError as exc:
                # Ingest/responder dead-letter their own bad output; here it is only skipped.
                log.error("projector.undecodable", topic=record.topic, error=str(exc)[:200])
                self._metrics.projected.labels("undecodable", "skipped").inc()
                continue
            span = tracer.start_span(
                f"{record.topic} process", context=decoded.context, kind=SpanKind.CONSUMER
            )
            span.set_attribute("messaging.system", "kafka")
            span.set_attribute("messaging.operation", "process")
            span.set_attribute("messaging.destination.name", record.topic)
            span.set_attribute("messaging.kafka.destination.partition", record.partition)
            span.set_attribute("messaging.kafka.message.offset", record.offset)
            db_span = tracer.start_span(
                "db apply", context=trace.set_span_in_context(span), kind=SpanKind.CLIENT
            )
            db_span.set_attribute("db.system", "postgresql")
            db_span.set_attribute("db.operation.batch.size", len(records))
            events.append(decoded.event)
            spans.append((span, db_span))
        try:
            applied = await self._projector.apply_batch(
                events, [current_trace_id(span) for span, _ in spans]
            )
        except Exception as exc:
            for _span, db_span in spans:
                db_span.record_exception(exc)
                db_span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            for span, db_span in spans:
                db_span.end()
                span.end()
        for event, ok in zip(events, applied, strict=True):
            outcome = "applied" if ok else "duplicate"
            self._metrics.projected.labels(event.event_type, outcome).inc()

    async def run(self, stop: asyncio.Event) -> None:
        self._consumer.subscribe(self._topics)
        self.ready = True
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
                self.caught_up = not batches
                records = [record for part in batches.values() for record in part]
                if records:
                    await self._apply_with_retry(records, stop)
                    await self._consumer.commit()
        finally:
            self.ready = False
            self.caught_up = False

    async def _apply_with_retry(self, records: list[Any], stop: asyncio.Event) -> None:
        delay = 0.5
        while True:
            try:
                await self._apply_records(records)
                return
            except Exception as exc:
                if stop.is_set():
                    raise
                log.warning("waiting.projector_db", error=str(exc)[:200], retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
