"""Latest breaker/limiter snapshot per LLM provider, read from ``mail.provider-state``.

The topic is compacted and keyed by provider, so reading it from the beginning yields
every provider's latest snapshot. The reader uses no consumer group: each admin-api
replica keeps its own full copy in memory and commits nothing.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer, TopicPartition

from mailroom_common.config import KafkaSettings
from mailroom_common.events import EventDecodeError, ProviderStateEvent, decode_event
from mailroom_common.kafka import connection_kwargs
from mailroom_common.logging import get_logger
from mailroom_common.topics import PROVIDER_STATE

__all__ = ["ProviderStateReader", "ProviderStateStore"]

log = get_logger(__name__)


class ProviderStateStore:
    """In-memory latest snapshot per provider (pure: no I/O)."""

    def __init__(self) -> None:
        self._latest: dict[str, ProviderStateEvent] = {}
        self.caught_up = False

    def apply(self, key: str | None, value: bytes | None) -> None:
        """Apply one record: a snapshot replaces the provider's; a tombstone removes it."""
        if value is None:
            if key is not None:
                self._latest.pop(key, None)
            return
        try:
            event = decode_event(value)
        except EventDecodeError as exc:
            log.warning("provider_state.undecodable", key=key, error=str(exc))
            return
        if not isinstance(event, ProviderStateEvent):
            log.warning("provider_state.unexpected_event", event_type=event.event_type)
            return
        current = self._latest.get(event.provider)
        # Offsets already order one provider's records; the timestamp guards against a
        # replica with a lagging clock republishing an older view after a rebalance.
        if current is None or event.occurred_at >= current.occurred_at:
            self._latest[event.provider] = event

    def snapshot(self) -> list[ProviderStateEvent]:
        return [self._latest[name] for name in sorted(self._latest)]


class ProviderStateReader:
    """Background task feeding a :class:`ProviderStateStore` from the compacted topic."""

    def __init__(
        self,
        settings: KafkaSettings,
        store: ProviderStateStore,
        *,
        retry_delay_s: float = 2.0,
        poll_timeout_ms: int = 500,
    ) -> None:
        self._settings = settings
        self._store = store
        self._topic = settings.topic(PROVIDER_STATE)
        self._retry_delay_s = retry_delay_s
        self._poll_timeout_ms = poll_timeout_ms
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="provider-state-reader")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        # A Kafka outage must not take the API down; the reader retries until stopped.
        while True:
            # No group: every partition is assigned to this consumer and nothing is
            # committed, so each start reads the compacted topic from the beginning.
            consumer = AIOKafkaConsumer(
                self._topic,
                **connection_kwargs(self._settings),
                client_id="admin-api-provider-state",
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            try:
                await consumer.start()
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("provider_state.reader_failed", error=type(exc).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(self._retry_delay_s)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        log.info("provider_state.reading", topic=self._topic)
        end: dict[TopicPartition, int] | None = None
        while True:
            batches = await consumer.getmany(timeout_ms=self._poll_timeout_ms)
            for records in batches.values():
                for record in records:
                    key = record.key.decode("utf-8", "replace") if record.key else None
                    self._store.apply(key, record.value)
            if self._store.caught_up:
                continue
            partitions = list(consumer.assignment())
            if not partitions:
                continue  # the topic's metadata has not arrived yet
            if end is None:
                # The end as of the first assignment: reaching it means every snapshot
                # published before start-up has been applied.
                end = await consumer.end_offsets(partitions)
            if await self._reached(consumer, end):
                self._store.caught_up = True
                log.info("provider_state.caught_up", providers=len(self._store.snapshot()))

    @staticmethod
    async def _reached(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
        for tp, offset in end.items():
            if await consumer.position(tp) < offset:
                return False
        return True
