"""Integration fixtures: a private IMAP folder, the service as a real subprocess, a reader.

Every test appends to its own folder of the ``sales@mailroom.test`` mailbox (others use
the shop INBOX), uses its own checkpoint name and its own Kafka topic prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from imap_tools import MailBoxUnencrypted

from mailroom_common.config import KafkaSettings
from mailroom_common.events import InboundEmail, decode_event
from mailroom_common.kafka import connection_kwargs, make_admin
from mailroom_common.topics import ALERTS, INBOUND, ensure_topics

IMAP_HOST = "127.0.0.1"
IMAP_PORT = 21143
IMAPS_PORT = 21993
SALES_USER = "sales@mailroom.test"
SALES_PASSWORD = "sales-secret"

_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Folder:
    """A private folder in the sales mailbox; one IMAP connection for appending."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._box = MailBoxUnencrypted(IMAP_HOST, IMAP_PORT, timeout=30).login(
            SALES_USER, SALES_PASSWORD, initial_folder=None
        )
        self._box.folder.create(name)

    def reconnect(self) -> None:
        """A fresh session: Dovecot's view of a deleted and re-created folder is per session."""
        with contextlib.suppress(Exception):
            self._box.logout()
        self._box = MailBoxUnencrypted(IMAP_HOST, IMAP_PORT, timeout=30).login(
            SALES_USER, SALES_PASSWORD, initial_folder=None
        )

    def append(self, raw: bytes) -> int:
        """Append ``raw``; return the UID the server gave it (UIDPLUS)."""
        result = self._box.append(raw, self.name, dt=None)
        match = _APPENDUID.search(b" ".join(x for x in result[1] if isinstance(x, bytes)))
        assert match, result
        return int(match.group(1))

    def delete(self) -> None:
        last: Exception | None = None
        for _ in range(5):
            try:
                self.reconnect()  # a fresh session: the old one may be stale
                self._box.folder.delete(self.name)
                break
            except Exception as exc:
                last = exc
                time.sleep(0.2)
        else:
            print(f"could not delete IMAP folder {self.name}: {last!r}")
        with contextlib.suppress(Exception):
            self._box.logout()


def customer_mail(n: int | str, *, tag: str, body: str = "Hola, ¿tienen la taza azul?") -> bytes:
    return (
        f"From: Cliente {n} <cliente{n}@example.com>\r\nTo: {SALES_USER}\r\n"
        f"Subject: Pregunta {n}\r\nMessage-ID: <{tag}-{n}@example.com>\r\n"
        f"Date: Mon, 3 Mar 2025 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{body}\r\n"
    ).encode()


@pytest.fixture
def mail() -> Callable[..., bytes]:
    """``mail(n, tag=...)``: a plain customer mail with Message-ID ``<tag-n@example.com>``."""
    return customer_mail


@pytest.fixture
def imap_folder() -> Iterator[Folder]:
    folder = Folder(f"ingest-test-{uuid.uuid4().hex[:10]}")
    try:
        yield folder
    finally:
        folder.delete()


class IngestProcess:
    """``python -m mailroom_ingest`` with a test environment; stopped by PID."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.health_port = int(env["INGEST_HEALTH_PORT"])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> IngestProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailroom_ingest"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def readyz(self) -> dict[str, Any] | None:
        url = f"http://127.0.0.1:{self.health_port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                body: dict[str, Any] = json.loads(resp.read())
                return body
        except Exception:
            return None

    def wait_ready(self, timeout: float = 30, mode: str | None = None) -> dict[str, Any]:
        """Wait for /readyz to say ready (and, if given, every mailbox in ``mode``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            assert self.proc.poll() is None, self.output()
            body = self.readyz()
            modes = {m["mode"] for m in body["mailboxes"]} if body else set()
            if body and body.get("ready") and (mode is None or modes == {mode}):
                return body
            time.sleep(0.1)
        raise AssertionError(f"ingest not ready in {timeout}s:\n{self.output()}")

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.health_port}/metrics"
        with urllib.request.urlopen(url, timeout=2) as resp:
            text: str = resp.read().decode()
            return text

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""


def make_env(kafka: KafkaSettings, database_url: str, folder: Folder) -> dict[str, str]:
    """Environment for one ingest process reading ``folder``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INGEST_", "KAFKA_", "OTEL_"))}
    for legacy in ("IMAP_SERVER", "IMAP_PORT", "EMAIL_SENDER", "EMAIL_APP_PASSWORD"):
        env.pop(legacy, None)
    env.update(
        {
            "INGEST_IMAP_HOST": IMAP_HOST,
            "INGEST_IMAP_PORT": str(IMAP_PORT),
            "INGEST_IMAP_SECURITY": "starttls",
            "INGEST_TLS_VERIFY": "false",
            "INGEST_IMAP_USER": SALES_USER,
            "INGEST_IMAP_PASSWORD": SALES_PASSWORD,
            "INGEST_IMAP_FOLDER": folder.name,
            "INGEST_MAILBOX_NAME": f"sales-{folder.name}",
            "INGEST_HEALTH_PORT": str(free_port()),
            "INGEST_BACKOFF_BASE_S": "0.2",
            "INGEST_BACKOFF_MAX_S": "2",
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "DATABASE_URL": database_url,
            "MAILROOM_LOG_FORMAT": "json",
            "MAILROOM_ENVIRONMENT": "test",
        }
    )
    return env


@pytest.fixture
def ingest_env(
    kafka_topics: KafkaSettings, database_url: str, imap_folder: Folder
) -> dict[str, str]:
    return make_env(kafka_topics, database_url, imap_folder)


@pytest.fixture
def ingest_process(
    ingest_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., IngestProcess]]:
    """Factory: ``ingest_process(**env_overrides)`` starts one; all are killed at the end."""
    started: list[IngestProcess] = []

    def start(**overrides: str) -> IngestProcess:
        env = {**ingest_env, **overrides}
        proc = IngestProcess(env, tmp_path / f"ingest-{len(started)}.log").start()
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            with contextlib.suppress(Exception):
                proc.terminate(timeout=15)
            proc.kill()


class TopicReader:
    """Reads a topic from the beginning, across all its partitions, without a group."""

    def __init__(self, settings: KafkaSettings, topic: str) -> None:
        self._settings = settings
        self._topic = topic
        self._consumer: AIOKafkaConsumer | None = None
        self.records: list[Any] = []

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            **connection_kwargs(self._settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        partitions = await _partitions(consumer, self._topic)
        consumer.assign([TopicPartition(self._topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        self._consumer = consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def poll(self, timeout: float = 0.2) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=int(timeout * 1000), max_records=5000)
        for records in batches.values():
            self.records.extend(records)

    async def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        while not predicate(self.records):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout}s with {len(self.records)} records on {self._topic}"
                )
            await self.poll()
        return self.records

    def events(self) -> list[InboundEmail]:
        out: list[InboundEmail] = []
        for record in self.records:
            event = decode_event(record.value)
            assert isinstance(event, InboundEmail)
            out.append(event)
        return out


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    for _ in range(50):
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return sorted(parts)
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise AssertionError(f"topic {topic} has no partitions")


@pytest.fixture
async def inbound_reader(kafka_topics: KafkaSettings) -> AsyncIterator[TopicReader]:
    reader = TopicReader(kafka_topics, kafka_topics.topic(INBOUND))
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


@pytest.fixture
async def alerts_reader(kafka_topics: KafkaSettings) -> AsyncIterator[TopicReader]:
    reader = TopicReader(kafka_topics, kafka_topics.topic(ALERTS))
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


@pytest.fixture(scope="module")
async def corpus_service(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Folder, IngestProcess, TopicReader]]:
    """One ingest process, folder and topics shared by a module's corpus cases."""
    kafka = KafkaSettings(
        bootstrap_servers=os.environ.get("MAILROOM_TEST_KAFKA", "127.0.0.1:29092"),
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
    )
    specs = (INBOUND, ALERTS)
    admin = make_admin(kafka, "ingest-corpus-tests")
    await admin.start()
    folder = Folder(f"ingest-corpus-{uuid.uuid4().hex[:10]}")
    proc: IngestProcess | None = None
    reader: TopicReader | None = None
    try:
        await ensure_topics(admin, specs, name_prefix=kafka.topic_prefix)
        env = make_env(kafka, database_url, folder)
        proc = IngestProcess(env, tmp_path_factory.mktemp("corpus") / "ingest.log").start()
        reader = TopicReader(kafka, kafka.topic(INBOUND))
        await reader.start()
        await asyncio.to_thread(proc.wait_ready)
        yield folder, proc, reader
    finally:
        if reader is not None:
            await reader.stop()
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.terminate(timeout=15)
            proc.kill()
        folder.delete()
        with contextlib.suppress(Exception):
            await admin.delete_topics([kafka.topic(s) for s in specs])
        await admin.close()
