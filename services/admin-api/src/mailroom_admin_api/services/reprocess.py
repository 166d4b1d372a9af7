"""Republish an email to ``mail.inbound`` on an operator's request, at most once per key.

A single task is accepted when it is dead-lettered, or stuck in ``received``,
``processing`` or ``retrying`` (see :mod:`.reprocess_logic` for which statuses and why);
the email republished is the one the projector stored with the task, or for older tasks
the newest dead letter's original. The bulk call takes open dead letters only.

Order of work for one email, all in one database transaction:
claim the request key (INSERT … ON CONFLICT DO NOTHING) → publish and wait for Kafka's
ack → close the task's open dead letters → commit. If the publish fails the transaction
rolls back and the same key can be retried. A crash after the ack but before the commit
can publish twice; the event id derived from the key lets consumers drop the copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry.trace import Tracer
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.filters import DeadLetterFilter
from mailroom_admin_api.metrics import Metrics
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.repository import dead_letters as dead_letters_repo
from mailroom_admin_api.repository import reprocess as reprocess_repo
from mailroom_admin_api.repository import tasks as tasks_repo
from mailroom_admin_api.schemas import BulkReprocessIn, BulkReprocessOut, BulkSkip, ReprocessOut
from mailroom_admin_api.services._convert import inbound_original, task_original
from mailroom_admin_api.services.reprocess_logic import (
    event_id_for,
    is_sent,
    link_to_trace,
    refusal_for,
    reprocess_event,
)
from mailroom_admin_api.services.task_detail import task_not_found
from mailroom_common.db.models import DeadLetterRecord, ReprocessRequest
from mailroom_common.events import InboundEmail
from mailroom_common.kafka import send_event
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import current_trace_id

__all__ = ["Reprocessor"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Job:
    message_key: str
    task_id: uuid.UUID | None
    original: InboundEmail
    earlier_trace_id: str | None
    request_key: str


class Reprocessor:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        inbound_topic: str,
        tracer: Tracer,
        metrics: Metrics,
        *,
        stuck_after_s: float = 900.0,
    ) -> None:
        self._producer = producer
        self._topic = inbound_topic
        self._tracer = tracer
        self._metrics = metrics
        self._stuck_after_s = stuck_after_s

    async def reprocess_task(
        self, session: AsyncSession, task_id: uuid.UUID, request_key: str | None
    ) -> tuple[ReprocessOut, bool]:
        """Republish one task's email; returns the body and whether it was a replay."""
        task = await tasks_repo.get_task(session, task_id)
        if task is None:
            raise task_not_found(task_id)
        if request_key is not None:
            existing = await reprocess_repo.get(session, request_key)
            if existing is not None:
                return _replay(existing, task.message_key, task_id), True
        if is_sent(task.status, await tasks_repo.sent_reply_exists(session, task.message_key)):
            raise ProblemError(
                409,
                "Task already sent",
                f"Task {task_id} was already answered and sent to the customer; "
                "reprocessing it would send a second answer.",
                kind="task-already-sent",
            )
        refusal = refusal_for(task.status, task.status_at, datetime.now(UTC), self._stuck_after_s)
        if refusal is not None:
            raise ProblemError(409, refusal.title, refusal.detail, kind=refusal.kind)
        letters = await dead_letters_repo.for_message_key(session, task.message_key)
        found = _newest_inbound(letters)
        original = task_original(task) or (found[1] if found is not None else None)
        if original is None:
            raise ProblemError(
                409,
                "Original email not stored",
                f"Task {task_id} has no stored original email (it predates that record and "
                "has no dead letter holding it), so there is nothing to republish.",
                kind="no-original",
            )
        job = _Job(
            message_key=task.message_key,
            task_id=task.id,
            original=original,
            earlier_trace_id=task.trace_id or (found[0].trace_id if found is not None else None),
            request_key=request_key or f"auto-{uuid.uuid4()}",
        )
        result = await self._run(session, job, mode="single")
        if result is None:
            # Lost a race with a concurrent call holding the same key: answer as it did.
            # (Rolling back expired the ORM rows, so only the plain job data is used here.)
            existing = await reprocess_repo.get(session, job.request_key)
            assert existing is not None
            return _replay(existing, job.message_key, task_id), True
        return result, False

    async def reprocess_dead_letters(
        self, session: AsyncSession, request: BulkReprocessIn, since: datetime | None
    ) -> BulkReprocessOut:
        """Republish every open dead letter matching the filter (one per email)."""
        flt = DeadLetterFilter(
            stage=request.stage, error_class=request.error_class, since=since, open_only=True
        )
        letters = await dead_letters_repo.list_dead_letters(session, flt, None, request.limit)
        matched = len(letters)
        jobs: list[_Job] = []
        skipped: list[BulkSkip] = []
        seen: set[str] = set()
        # Every check reads before anything is written: a rollback later expires ORM rows.
        # Newest first, so when an email failed several times its latest original wins.
        for letter in letters:
            if letter.message_key in seen:
                continue
            seen.add(letter.message_key)
            original = inbound_original(letter)
            reason = await self._skip_reason(session, letter.message_key, original)
            if reason is not None or original is None:
                skipped.append(
                    BulkSkip(
                        dead_letter_id=letter.id,
                        message_key=letter.message_key,
                        reason=reason or "original is not an inbound email",
                    )
                )
                continue
            jobs.append(
                _Job(
                    message_key=letter.message_key,
                    task_id=None,
                    original=original,
                    earlier_trace_id=letter.trace_id,
                    # Keyed by the dead letter: repeated bulk calls never republish it twice.
                    request_key=f"bulk-{letter.id}",
                )
            )
        published: list[str] = []
        if request.dry_run:
            published = [job.message_key for job in jobs]
        else:
            await session.rollback()  # end the read transaction before the per-email ones
            for job in jobs:
                try:
                    if await self._run(session, job, mode="bulk") is not None:
                        published.append(job.message_key)
                except ProblemError as exc:
                    exc.extensions["published_message_keys"] = published
                    raise
        return BulkReprocessOut(
            dry_run=request.dry_run,
            matched=matched,
            published=len(published),
            published_message_keys=published,
            skipped=skipped,
        )

    @staticmethod
    async def _skip_reason(
        session: AsyncSession, message_key: str, original: InboundEmail | None
    ) -> str | None:
        if original is None:
            return "original is not an inbound email"
        task = await tasks_repo.get_by_message_key(session, message_key)
        status = task.status if task is not None else None
        if is_sent(status, await tasks_repo.sent_reply_exists(session, message_key)):
            return "already sent"
        return None

    async def _run(self, session: AsyncSession, job: _Job, *, mode: str) -> ReprocessOut | None:
        """Claim, publish, close, commit; None when the key was already claimed."""
        try:
            claimed = await reprocess_repo.claim(
                session, job.request_key, job.message_key, job.earlier_trace_id
            )
            if claimed is None:
                await session.rollback()
                return None
            event_id = event_id_for(job.request_key)
            link = link_to_trace(job.earlier_trace_id)
            with self._tracer.start_as_current_span(
                "admin.reprocess",
                links=[link] if link is not None else None,
                attributes={
                    "mailroom.message_key": job.message_key,
                    "mailroom.reprocess_of_trace_id": job.earlier_trace_id or "",
                    "mailroom.event_id": str(event_id),
                    "mailroom.reprocess_mode": mode,
                },
            ) as span:
                now = datetime.now(UTC)
                event = reprocess_event(
                    job.original,
                    event_id=event_id,
                    earlier_trace_id=job.earlier_trace_id,
                    now=now,
                )
                try:
                    await send_event(self._producer, self._topic, event, key=event.thread_key)
                except KafkaError as exc:
                    raise ProblemError(
                        503,
                        "Kafka unavailable",
                        f"Could not publish to {self._topic}: {type(exc).__name__}. "
                        "Nothing was recorded; retry with the same Idempotency-Key.",
                        kind="kafka-unavailable",
                    ) from exc
                await dead_letters_repo.mark_reprocessed(session, job.message_key, now)
                await session.commit()
                log.info(
                    "reprocess.published",
                    message_key=job.message_key,
                    event_id=str(event_id),
                    reprocess_of_trace_id=job.earlier_trace_id,
                    new_trace_id=current_trace_id(span),
                    mode=mode,
                )
        except BaseException:
            await session.rollback()
            raise
        self._metrics.reprocessed.labels(mode=mode).inc()
        return _response(claimed, job.task_id)


def _newest_inbound(
    letters: Sequence[DeadLetterRecord],
) -> tuple[DeadLetterRecord, InboundEmail] | None:
    for letter in letters:
        original = inbound_original(letter)
        if original is not None:
            return letter, original
    return None


def _response(row: ReprocessRequest, task_id: uuid.UUID | None) -> ReprocessOut:
    assert row.created_at is not None
    return ReprocessOut(
        task_id=task_id,
        message_key=row.message_key,
        request_key=row.request_key,
        event_id=event_id_for(row.request_key),
        reprocess_of_trace_id=row.earlier_trace_id,
        requested_at=row.created_at,
    )


def _replay(row: ReprocessRequest, message_key: str, task_id: uuid.UUID) -> ReprocessOut:
    if row.message_key != message_key:
        raise ProblemError(
            422,
            "Idempotency-Key reused",
            "This Idempotency-Key was already used to reprocess another task; "
            "use a new key for each task.",
            kind="idempotency-key-reused",
        )
    return _response(row, task_id)
