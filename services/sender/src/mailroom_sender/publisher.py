"""Publishing events to Kafka under this deployment's topic names.

Inside :func:`collect_acks` a publish only enqueues the record and hands its delivery
future to the caller, so a send worker can go on with the next message while the broker
acknowledges; the runner commits the record's offset only after those futures resolve.
Outside it, a publish waits for the acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel

from mailroom_common.config import KafkaSettings
from mailroom_common.events import encode_event
from mailroom_common.kafka import send_event
from mailroom_common.telemetry import headers_with_context
from mailroom_common.topics import TopicSpec

__all__ = ["KafkaPublisher", "collect_acks"]

_ACKS: ContextVar[list[asyncio.Future[Any]] | None] = ContextVar("mailroom_acks", default=None)


@contextlib.contextmanager
def collect_acks() -> Iterator[list[asyncio.Future[Any]]]:
    acks: list[asyncio.Future[Any]] = []
    token = _ACKS.set(acks)
    try:
        yield acks
    finally:
        _ACKS.reset(token)


class KafkaPublisher:
    def __init__(self, producer: Any, kafka: KafkaSettings) -> None:
        self._producer = producer
        self._kafka = kafka

    async def publish(self, spec: TopicSpec, event: BaseModel, *, key: str | None) -> None:
        topic = self._kafka.topic(spec)
        acks = _ACKS.get()
        if acks is None:
            await send_event(self._producer, topic, event, key=key)
            return
        future = await self._producer.send(
            topic,
            value=encode_event(event),
            key=key.encode("utf-8") if key is not None else None,
            headers=headers_with_context(),
        )
        acks.append(future)
