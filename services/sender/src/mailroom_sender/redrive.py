"""The redrive sweep: republish answerable emails the responder never processed.

The responder reports ``processing`` as the first thing it does with an answerable email,
so a task still ``received`` long after it arrived was never seen by it (a lost or stalled
``mail.inbound`` record). Every ``interval`` the sweep, running next to the projector:

1. locks up to ``batch`` such tasks — ``received``, a stored original, not given up on,
   unchanged for ``after_s`` — with ``FOR UPDATE SKIP LOCKED``, so replicas running the
   sweep at the same time each take different rows and never publish one twice;
2. for each one, per :func:`~.redrive_logic.decide`, republishes the stored original
   unchanged (same event id, same run, keyed by thread like ingest) to ``mail.inbound``,
   or — once the task reached ``SENDER_REDRIVE_MAX`` — publishes one critical alert;
3. records it in the same transaction: ``redrive_count`` + 1 (or ``redrive_alerted_at``),
   ``updated_at`` (which restarts the ``after_s`` clock) and a ``task_status_changes`` row.

Publishing happens while the row is locked and before the commit. A crash in between
publishes the email again at the next sweep, which is harmless: the copy is the same run
of the same email, so the responder's per-run ids and ``llm-done`` table and the sender's
ledger (one row per message key and kind) make it answer and send at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from mailroom_common.config import KafkaSettings
from mailroom_common.events import AlertSeverity, TaskStatus
from mailroom_common.kafka import send_event
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import current_trace_id
from mailroom_common.topics import ALERTS, INBOUND

from .metrics import SenderMetrics
from .outcomes import alert
from .redrive_logic import (
    Candidate,
    Decision,
    RedriveAction,
    RedrivePolicy,
    decide,
    history_event_id,
    history_reason,
    parent_context,
)

__all__ = ["RedriveSweep", "SweepResult"]

log = get_logger(__name__)
tracer = trace.get_tracer("mailroom_sender.redrive")

SERVICE = "sender-redrive"
ALERT_KIND = "redrive_gave_up"


@dataclass(slots=True)
class SweepResult:
    republished: int = 0
    gave_up: int = 0
    failed: int = 0


class RedriveSweep:
    def __init__(
        self,
        engine: AsyncEngine,
        producer: Any,
        kafka: KafkaSettings,
        policy: RedrivePolicy,
        *,
        batch: int,
        metrics: SenderMetrics,
        caught_up: Callable[[], bool] = lambda: True,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._kafka = kafka
        self._policy = policy
        self._batch = batch
        self._metrics = metrics
        self._caught_up = caught_up
        self._tasks = SQLModel.metadata.tables["email_tasks"]
        self._history = SQLModel.metadata.tables["task_status_changes"]

    async def run(self, stop: asyncio.Event, interval_s: float) -> None:
        """Sweep every ``interval_s`` until ``stop``; a failed sweep is logged, not fatal."""
        while not stop.is_set():
            if self._caught_up():
                try:
                    await self.sweep_once()
                except Exception as exc:
                    log.warning("redrive.sweep_failed", error=str(exc)[:200])
            else:
                log.debug("redrive.waiting_for_projector")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    async def sweep_once(self) -> SweepResult:
        """Handle every task that is stuck right now, one locked batch at a time."""
        total = SweepResult()
        while True:
            selected, result = await self._sweep_batch()
            total.republished += result.republished
            total.gave_up += result.gave_up
            total.failed += result.failed
            # A handled row is no longer a candidate, so the next batch finds new ones.
            if selected < self._batch or result.failed:
                return total

    async def _sweep_batch(self) -> tuple[int, SweepResult]:
        tasks = self._tasks
        result = SweepResult()
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(
                        tasks.c.id,
                        tasks.c.message_key,
                        tasks.c.original,
                        tasks.c.redrive_count,
                        tasks.c.trace_id,
                    )
                    .where(
                        tasks.c.status == TaskStatus.RECEIVED.value,
                        tasks.c.original.is_not(None),
                        tasks.c.redrive_alerted_at.is_(None),
                        # The database's clock on both sides: replicas' clocks do not matter.
                        tasks.c.updated_at < func.now() - timedelta(seconds=self._policy.after_s),
                    )
                    .order_by(tasks.c.updated_at)
                    .limit(self._batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                candidate = Candidate(
                    message_key=row.message_key,
                    original=row.original,
                    redrive_count=row.redrive_count,
                    trace_id=row.trace_id,
                )
                decision = decide(candidate, self._policy)
                try:
                    trace_id = await self._publish(candidate, decision)
                except Exception as exc:
                    # Keep what was published and recorded so far; the rest waits for the
                    # next sweep (their locks end with this transaction).
                    result.failed += 1
                    self._metrics.redrives.labels("failed").inc()
                    log.warning(
                        "redrive.publish_failed",
                        message_key=candidate.message_key,
                        error=str(exc)[:200],
                    )
                    break
                await self._record(conn, row.id, candidate, decision, trace_id)
                if decision.action is RedriveAction.REPUBLISH:
                    result.republished += 1
                else:
                    result.gave_up += 1
        return len(rows), result

    async def _publish(self, candidate: Candidate, decision: Decision) -> str | None:
        """Publish in the email's own trace; returns the trace id the publish was in."""
        with tracer.start_as_current_span(
            "redrive publish",
            context=parent_context(candidate.trace_id),
            kind=SpanKind.PRODUCER,
            attributes={
                "mailroom.message_key": candidate.message_key,
                "mailroom.redrive_count": candidate.redrive_count,
                "mailroom.redrive_action": decision.action.value,
            },
        ) as span:
            if decision.action is RedriveAction.REPUBLISH:
                email = decision.email
                assert email is not None
                # Unchanged, keyed by thread as ingest keys it: the same record again.
                await send_event(
                    self._producer, self._kafka.topic(INBOUND), email, key=email.thread_key
                )
            else:
                event = alert(
                    kind=ALERT_KIND,
                    severity=AlertSeverity.CRITICAL,
                    message=(
                        f"email {candidate.message_key} is stuck in 'received': "
                        f"{decision.why}; reprocess it from the admin API"
                    ),
                    message_key=candidate.message_key,
                    details={
                        "redrive_count": candidate.redrive_count,
                        "after_s": self._policy.after_s,
                        "why": decision.why,
                    },
                    # One id per run: a retried sweep repeats the same alert, not a new one.
                    dedup=f"{ALERT_KIND}:{_run(candidate)}",
                )
                await send_event(
                    self._producer,
                    self._kafka.topic(ALERTS),
                    event,
                    key=candidate.message_key,
                )
            return current_trace_id(span)

    async def _record(
        self,
        conn: AsyncConnection,
        task_id: uuid.UUID,
        candidate: Candidate,
        decision: Decision,
        trace_id: str | None,
    ) -> None:
        tasks = self._tasks
        key = candidate.message_key
        if decision.action is RedriveAction.REPUBLISH:
            count = candidate.redrive_count + 1
            values: dict[str, Any] = {"redrive_count": count}
            what = f"redrive:{count}"
        else:
            count = candidate.redrive_count
            values = {"redrive_alerted_at": func.now()}
            what = "redrive:gave_up"
        await conn.execute(
            tasks.update().where(tasks.c.id == task_id).values(**values, updated_at=func.now())
        )
        # The status stays 'received': the history row is the received → received edge.
        await conn.execute(
            insert(self._history)
            .values(
                event_id=history_event_id(key, _run(candidate), what),
                message_key=key,
                status=TaskStatus.RECEIVED.value,
                reason=history_reason(decision, candidate, self._policy),
                service=SERVICE,
                trace_id=trace_id,
                occurred_at=func.now(),
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
        )
        if decision.action is RedriveAction.REPUBLISH:
            self._metrics.redrives.labels("republished").inc()
            log.warning(
                "redrive.republished",
                message_key=key,
                redrive_count=count,
                redrive_max=self._policy.max_redrives,
                trace_id=trace_id,
            )
        else:
            self._metrics.redrives.labels("gave_up").inc()
            log.error(
                "alert.redrive_gave_up",
                message_key=key,
                redrive_count=count,
                why=decision.why,
                trace_id=trace_id,
            )


def _run(candidate: Candidate) -> str:
    """The run the stored original belongs to (an operator's reprocess is a new run)."""
    original = candidate.original
    run = original.get("reprocess_of_trace_id") if isinstance(original, dict) else None
    return str(run or "")
