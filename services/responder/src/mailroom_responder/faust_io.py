"""Faust adapters: the publisher (events with the trace context) and the table-backed
state the desks keep (provider breaker/limiter, done marks, classifier decisions)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from mailroom_common.events import encode_event
from mailroom_common.telemetry import headers_with_context
from mailroom_common.topics import TopicSpec
from mailroom_responder.messages import ClassifyRequest, HoldingCheck, LlmRequest, encode_request
from mailroom_responder.outcomes import Emission
from mailroom_responder.provider import ProviderState
from mailroom_responder.tables import Tables
from mailroom_responder.topics import Topics

__all__ = ["FaustPublisher", "TableClassifyDone", "TableDone", "TableState"]

tracer = trace.get_tracer("mailroom_responder")


class FaustPublisher:
    """Sends events through Faust's producer with the current trace context in headers."""

    def __init__(self, app: faust.App, topics: Topics) -> None:
        self.app = app
        self.topics = topics
        # Told of every event published (the owner cache notes hand-offs at once).
        self.observers: list[Callable[[Emission], None]] = []

    async def _send(self, spec: TopicSpec, key: str, value: bytes) -> None:
        # A PRODUCER span per record: its context, not the agent's, goes into the headers,
        # so the consumer's span hangs off this hop (OTel messaging conventions).
        name = self.topics.real_name(spec)
        with tracer.start_as_current_span(
            f"{name} publish",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation": "publish",
                "messaging.operation.name": "send",
                "messaging.operation.type": "send",
                "messaging.destination.name": name,
            },
        ):
            await self.topics[spec].send(
                key=key.encode("utf-8"), value=value, headers=headers_with_context()
            )

    async def emit(self, emission: Emission) -> None:
        await self._send(emission.topic, emission.key, encode_event(emission.event))
        for observe in self.observers:
            observe(emission)

    async def emit_request(
        self, topic: TopicSpec, key: str, request: LlmRequest | ClassifyRequest | HoldingCheck
    ) -> None:
        await self._send(topic, key, encode_request(request))

    async def flush(self) -> None:
        await self.app.producer.flush()


class TableState:
    """The provider's breaker/limiter in the Faust table; ``save`` flushes the changelog."""

    def __init__(
        self,
        tables: Tables,
        provider: str,
        flush: Callable[[], Awaitable[None]],
        table: Any = None,
    ):
        # ``table``: another provider-state table (the classifier's) than the main one.
        self.table = tables.provider_state if table is None else table
        self.provider = provider
        self._flush = flush

    def load(self) -> ProviderState:
        return ProviderState.from_dict(self.table.get(self.provider), self.provider)

    async def save(self, state: ProviderState) -> None:
        self.table[self.provider] = state.to_dict()
        await self._flush()


class TableDone:
    def __init__(self, tables: Tables) -> None:
        self.table = tables.done

    def is_done(self, key: str) -> bool:
        return self.table.get(key) is not None

    async def mark_done(self, key: str) -> None:
        self.table[key] = time.time()


class TableClassifyDone:
    """The classify-done table: per email run, the decision taken and whether done."""

    def __init__(self, tables: Tables, flush: Callable[[], Awaitable[None]]) -> None:
        self.table = tables.classify_done
        self._flush = flush

    def get(self, key: str) -> dict[str, Any] | None:
        value = self.table.get(key)
        return value if isinstance(value, dict) else None

    async def save(self, key: str, value: dict[str, Any]) -> None:
        self.table[key] = value
        await self._flush()
