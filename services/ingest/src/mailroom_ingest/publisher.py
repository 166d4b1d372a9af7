"""Publish InboundEmail events to Kafka, a span per email, and report what was acked.

A batch is enqueued in UID order and then awaited: the producer pipelines the records
(one round trip per batch instead of per mail) while the idempotent producer keeps
their order per partition. Only the leading run of acknowledged records counts, so the
checkpoint never skips over a mail whose publish failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from mailroom_common.events import Disposition, InboundEmail, encode_event
from mailroom_common.telemetry import hash_address, headers_with_context
from mailroom_ingest.metrics import IngestMetrics
from mailroom_ingest.parse import fit_to_size

__all__ = ["PendingMail", "PublishResult", "Publisher"]

SPAN_NAME = "mail.inbound publish"


@dataclass(frozen=True, slots=True)
class PendingMail:
    event: InboundEmail
    fetched_at_ns: int  # wall clock, for the span start
    fetched_monotonic: float  # for the latency histogram


@dataclass(frozen=True, slots=True)
class PublishResult:
    acked: int  # how many mails from the start of the batch Kafka acknowledged
    error: BaseException | None


class Publisher:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        metrics: IngestMetrics,
        *,
        max_event_bytes: int,
        tracer: Tracer | None = None,
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._metrics = metrics
        self._max_event_bytes = max_event_bytes
        self._tracer = tracer or trace.get_tracer("mailroom_ingest")

    def _start_span(self, mail: PendingMail) -> trace.Span:
        ev = mail.event
        attributes: dict[str, Any] = {
            "messaging.system": "kafka",
            "messaging.destination.name": self._topic,
            "messaging.operation": "publish",
            "messaging.operation.type": "send",
            "messaging.operation.name": "send",
            "messaging.message.id": str(ev.event_id),
            "messaging.kafka.message.key": ev.thread_key,
            "mail.mailbox": ev.mailbox,
            "mail.folder": ev.folder,
            "mail.message_key": ev.message_key,
            "mail.disposition": ev.disposition.value,
            "mail.size_bytes": ev.size_bytes,
            "mail.truncated": ev.truncated,
        }
        if ev.uid is not None:
            attributes["mail.uid"] = ev.uid
        if ev.screen_reason:
            attributes["mail.screen_reason"] = ev.screen_reason
        if (sender := hash_address(ev.from_address)) is not None:
            attributes["mail.from_hash"] = sender
        return self._tracer.start_span(
            SPAN_NAME, kind=SpanKind.PRODUCER, start_time=mail.fetched_at_ns, attributes=attributes
        )

    async def publish(self, batch: Sequence[PendingMail]) -> PublishResult:
        spans: list[trace.Span] = []
        futures: list[asyncio.Future[Any]] = []
        error: BaseException | None = None
        for mail in batch:
            event = fit_to_size(mail.event, self._max_event_bytes)
            span = self._start_span(mail)
            ctx = trace.set_span_in_context(span)
            try:
                # Enqueue only; awaiting each ack here would cost a round trip per mail.
                fut = await self._producer.send(
                    self._topic,
                    value=encode_event(event),
                    key=event.thread_key.encode("utf-8"),
                    headers=headers_with_context((), ctx),
                )
            except Exception as exc:  # what could not be enqueued is retried later
                _fail(span, exc)
                error = exc
                break
            spans.append(span)
            futures.append(fut)
        acked = 0
        counting = True
        for mail, span, fut in zip(batch, spans, futures, strict=False):
            try:
                metadata = await fut
            except Exception as exc:
                _fail(span, exc)
                error = error or exc
                counting = False
                self._metrics.publish_failures.labels(mail.event.mailbox).inc()
                continue
            span.set_attribute("messaging.destination.partition.id", str(metadata.partition))
            span.set_attribute("messaging.kafka.offset", metadata.offset)
            span.set_status(Status(StatusCode.OK))
            span.end()
            self._count(mail)
            if counting:
                acked += 1
        return PublishResult(acked=acked, error=error)

    def _count(self, mail: PendingMail) -> None:
        ev = mail.event
        self._metrics.published.labels(ev.mailbox, ev.disposition.value).inc()
        self._metrics.latency.labels(ev.mailbox).observe(time.monotonic() - mail.fetched_monotonic)
        if ev.disposition is Disposition.IGNORED:
            self._metrics.ignored.labels(ev.mailbox, ev.screen_reason or "unknown").inc()
        elif ev.disposition is Disposition.REJECTED:
            self._metrics.rejected.labels(ev.mailbox).inc()


def _fail(span: trace.Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    span.end()
