from __future__ import annotations

import asyncio
import time
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mailroom_common.events import decode_event
from mailroom_common.telemetry import context_from_headers
from mailroom_ingest.metrics import IngestMetrics
from mailroom_ingest.parse import ParseContext, parse_email
from mailroom_ingest.publisher import SPAN_NAME, PendingMail, Publisher


class _Meta:
    def __init__(self, offset: int) -> None:
        self.partition = 0
        self.offset = offset


class FakeProducer:
    def __init__(self, fail_at: int | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_at = fail_at

    async def send(self, topic: str, **kwargs: Any) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        index = len(self.sent)
        self.sent.append({"topic": topic, **kwargs})
        if index == self.fail_at:
            fut.set_exception(RuntimeError("broker said no"))
        else:
            fut.set_result(_Meta(index))
        return fut


def _pending(uid: int, sender: str = "ana@example.com", extra: bytes = b"") -> PendingMail:
    raw = (
        f"From: {sender}\r\nMessage-ID: <{uid}@example.com>\r\nSubject: s\r\n".encode()
        + extra
        + b"\r\nhola\r\n"
    )
    event = parse_email(raw, ParseContext(mailbox="sales", uid=uid, uidvalidity=1))
    return PendingMail(event, time.time_ns(), time.monotonic())


def _publisher(producer: FakeProducer) -> tuple[Publisher, InMemorySpanExporter, IngestMetrics]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    metrics = IngestMetrics()
    publisher = Publisher(
        producer,  # type: ignore[arg-type]
        "p.mail.inbound",
        metrics,
        max_event_bytes=900 * 1024,
        tracer=provider.get_tracer("test"),
    )
    return publisher, exporter, metrics


async def test_batch_is_published_in_order_with_trace_context() -> None:
    producer = FakeProducer()
    publisher, exporter, metrics = _publisher(producer)
    batch = [_pending(1), _pending(2, extra=b"Precedence: bulk\r\n")]
    result = await publisher.publish(batch)
    assert (result.acked, result.error) == (2, None)
    assert [decode_event(s["value"]).uid for s in producer.sent] == [1, 2]  # type: ignore[union-attr]
    assert producer.sent[0]["key"] == batch[0].event.thread_key.encode()
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == [SPAN_NAME, SPAN_NAME]
    attrs = spans[0].attributes or {}
    assert attrs["messaging.system"] == "kafka"
    assert attrs["messaging.destination.name"] == "p.mail.inbound"
    assert attrs["messaging.operation"] == "publish"
    assert str(attrs["mail.from_hash"]).startswith("sha256:")
    assert "ana@example.com" not in str(dict(attrs))
    ctx_span = context_from_headers(producer.sent[0]["headers"])
    from opentelemetry import trace

    carried = trace.get_current_span(ctx_span).get_span_context()
    assert carried.trace_id == spans[0].context.trace_id
    assert carried.span_id == spans[0].context.span_id
    text = metrics.render().decode()
    assert 'mailroom_ingest_published_total{disposition="answerable",mailbox="sales"} 1.0' in text
    assert 'mailroom_ingest_ignored_total{mailbox="sales",reason="precedence_bulk"} 1.0' in text


async def test_only_the_leading_acked_run_counts() -> None:
    producer = FakeProducer(fail_at=1)
    publisher, exporter, metrics = _publisher(producer)
    result = await publisher.publish([_pending(1), _pending(2), _pending(3)])
    assert result.acked == 1
    assert isinstance(result.error, RuntimeError)
    statuses = [s.status.status_code.name for s in exporter.get_finished_spans()]
    assert sorted(statuses) == ["ERROR", "OK", "OK"]
    assert (
        'mailroom_ingest_publish_failures_total{mailbox="sales"} 1.0' in metrics.render().decode()
    )
