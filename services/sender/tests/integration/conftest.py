"""Fixtures for the sender's integration tests: a scriptable SMTP server of our own,
an in-process sender/projector, and helpers to publish and read Kafka events."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiokafka import TopicPartition
from aiosmtpd.controller import Controller
from pydantic import BaseModel, SecretStr

from mailroom_common.config import CommonSettings, DatabaseSettings, KafkaSettings
from mailroom_common.events import Event, decode_event
from mailroom_common.kafka import make_consumer, make_producer, send_event
from mailroom_common.topics import REGISTRY, TopicSpec
from mailroom_sender.app import Settings, run
from mailroom_sender.settings import SenderSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    message_id: str
    rcpt: list[str]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        return msg


@dataclass
class SmtpSink:
    """aiosmtpd on a free loopback port; faults are SMTP replies given at end of DATA."""

    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    delay_s: float = 0.0
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        with self._lock:
            if self.faults:
                return self.faults.pop(0)
            raw = bytes(envelope.original_content or envelope.content)
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            self.received.append(Received(str(msg["Message-ID"]), list(envelope.rcpt_tos), raw))
        return "250 2.0.0 queued"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def ids(self) -> list[str]:
        with self._lock:
            return [r.message_id for r in self.received]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def make_settings(
    kafka: KafkaSettings,
    database_url: str,
    smtp_port: int,
    *,
    common: dict[str, Any] | None = None,
    **sender: Any,
) -> Settings:
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_security": "plain",
        "smtp_connect_timeout_s": 2.0,
        "smtp_command_timeout_s": 5.0,
        "health_host": "127.0.0.1",
        "health_port": free_port(),
        "group_id": f"sender-{tag}",
        "projector_group_id": f"projector-{tag}",
        "retry_base_s": 0.2,
        "retry_max_s": 1.0,
        "commit_interval_s": 0.2,
    }
    values.update(sender)
    return Settings(
        SenderSettings(**values),
        CommonSettings(shop_name="Tienda Test", shop_domain="mailroom.test", **(common or {})),
        kafka,
        DatabaseSettings(url=SecretStr(database_url)),
    )


async def wait_ready(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"service on health port {port} not ready")


@contextlib.asynccontextmanager
async def running(cfg: Settings, mode: str) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run(cfg, mode, stop))
    try:
        ready = asyncio.create_task(wait_ready(cfg.sender.health_port))
        done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()
            raise RuntimeError("service stopped before it was ready")
        ready.result()
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=40)


class Bus:
    """Publish events and read topics under the test's prefix."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self._producer = make_producer(kafka, "sender-tests")

    async def start(self) -> None:
        await self._producer.start()
        await self._wait_for_leaders()

    async def _wait_for_leaders(self, timeout_s: float = 30) -> None:
        """Freshly created topics need elected leaders before a consumer sees them; a
        consumer that subscribes too early waits for its next metadata refresh (minutes)."""
        deadline = time.monotonic() + timeout_s
        for spec in REGISTRY:
            topic = self.kafka.topic(spec)
            while True:
                parts = await self._producer.partitions_for(topic)
                cluster = self._producer.client.cluster
                if parts and all(
                    (cluster.leader_for_partition(TopicPartition(topic, p)) or -1) >= 0
                    for p in parts
                ):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no leaders for {topic}")
                await self._producer.client.force_metadata_update()
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, spec: TopicSpec, event: BaseModel, key: str) -> None:
        await send_event(self._producer, self.kafka.topic(spec), event, key=key)

    async def collect(
        self,
        spec: TopicSpec,
        until: Callable[[list[Event]], bool],
        timeout_s: float = 30,
    ) -> list[Event]:
        """Every event on the topic from the start, read until ``until`` holds."""
        consumer = make_consumer(
            self.kafka, "sender-tests", f"reader-{uuid.uuid4().hex[:8]}", self.kafka.topic(spec)
        )
        await consumer.start()
        events: list[Event] = []
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    events.extend(decode_event(r.value) for r in records)
                if until(events):
                    return events
            raise TimeoutError(f"condition not met on {spec.name}; got {len(events)} events")
        finally:
            await consumer.stop()


@pytest.fixture
async def bus(kafka_topics: KafkaSettings) -> AsyncIterator[Bus]:
    b = Bus(kafka_topics)
    await b.start()
    yield b
    await b.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout_s: float = 30
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("condition not met in time")
