"""Integration harness: real Kafka and PostgreSQL, a private offline LLM, worker subprocesses.

Each test gets its own topic prefix (hence its own Faust app id, consumer group and
changelog topics) and its own offline LLM process, so scripting the provider through
``/_admin`` never disturbs anyone else using the shared one on :28080.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.config import KafkaSettings
from mailroom_common.db.models import Category, Product, Variant
from mailroom_common.events import InboundEmail, decode_event
from mailroom_common.kafka import make_admin, make_consumer, make_producer, send_event
from mailroom_common.topics import INBOUND, REGISTRY, TopicSpec

REPO = Path(__file__).resolve().parents[4]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float, what: str, every: float = 0.2
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last={last!r}")


# ---------------------------------------------------------------------------- offline LLM


class OfflineLlm:
    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.proc = proc
        self.base_url = f"http://127.0.0.1:{port}"
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=5.0)

    async def configure(self, **patch: Any) -> None:
        r = await self.http.post("/_admin/config", json=patch)
        r.raise_for_status()

    async def script_classifier(
        self, rules: list[dict[str, Any]], default: Any = None
    ) -> dict[str, Any]:
        """The offline LLM's scripted classification table (see llm_server's docstring)."""
        r = await self.http.post("/_admin/classifier", json={"rules": rules, "default": default})
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    async def stats(self) -> dict[str, Any]:
        r = await self.http.get("/_admin/stats")
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data


@pytest.fixture
async def offline_llm(tmp_path: Path) -> AsyncIterator[OfflineLlm]:
    port = free_port()
    log = (tmp_path / "llm.log").open("wb")
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "mailroom_devstack.llm_server",
            "--port",
            str(port),
            "--log-level",
            "WARNING",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    llm = OfflineLlm(port, proc)

    async def healthy() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return (await llm.http.get("/healthz")).status_code == 200
        return False

    try:
        await wait_for(healthy, 15, "offline LLM")
        yield llm
    finally:
        await llm.http.aclose()
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()
        log.close()


# ---------------------------------------------------------------------------- catalogue


async def seed_catalogue(url: str) -> None:
    """The tests' small catalogue (two products, three variants) in the database at ``url``;
    nothing is written when it already has categories."""
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            if (await session.exec(select(Category))).first() is not None:
                return
            jeans = Category(slug="jeans", name="Jeans")
            remeras = Category(slug="remeras", name="Remeras")
            session.add_all([jeans, remeras])
            await session.flush()
            mom = Product(sku="JM-01", name="Jean Mom", category_id=jeans.id or 0)
            basica = Product(sku="RB-01", name="Remera Básica", category_id=remeras.id or 0)
            session.add_all([mom, basica])
            await session.flush()
            session.add_all(
                [
                    Variant(
                        product_id=mom.id or 0,
                        size="38",
                        colour="azul",
                        price=Decimal("45000"),
                        stock=3,
                    ),
                    Variant(
                        product_id=mom.id or 0,
                        size="40",
                        colour="azul",
                        price=Decimal("45000"),
                        stock=0,
                    ),
                    Variant(
                        product_id=basica.id or 0,
                        size="M",
                        colour="negro",
                        price=Decimal("12500"),
                        stock=7,
                    ),
                ]
            )
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def seeded_database(database_url: str) -> str:
    """A small catalogue in this run's database (once per session)."""
    asyncio.run(seed_catalogue(database_url))
    return database_url


# ---------------------------------------------------------------------------- workers


class Worker:
    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "RESPONDER_WEB_PORT": str(self.port)}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "mailroom_responder", "worker", "-l", "info"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.log_path.parent,
        )
        log.close()

    async def health(self) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=2.0) as http:
                r = await http.get(f"http://127.0.0.1:{self.port}/healthz")
            data: dict[str, Any] = r.json()
            return data
        except (httpx.HTTPError, ValueError):
            return None

    async def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        async def ready() -> dict[str, Any] | None:
            assert self.proc is not None
            assert self.proc.poll() is None, self.tail()
            h = await self.health()
            return h if h and h["assigned"] and not h["rebalancing"] else None

        result: dict[str, Any] = await wait_for(ready, timeout, f"worker {self.name} ready", 0.3)
        return result

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""


class Cluster:
    """Topics of one test, a producer of inbound mail and a collector of every output."""

    def __init__(self, kafka: KafkaSettings, env: dict[str, str], tmp: Path) -> None:
        self.kafka = kafka
        self.env = env
        self.tmp = tmp
        self.workers: list[Worker] = []
        self.events: dict[str, list[Any]] = {}
        self.raw_counts: dict[str, int] = {}
        self._producer = make_producer(kafka, "responder-tests")
        self._tasks: list[asyncio.Task[None]] = []

    def worker(self, **env: str) -> Worker:
        w = Worker(
            f"w{len(self.workers) + 1}",
            {**self.env, **env},
            self.tmp / f"w{len(self.workers) + 1}.log",
        )
        self.workers.append(w)
        return w

    async def start(self) -> None:
        await self._producer.start()
        names = [
            "mail.status",
            "mail.outbound",
            "mail.dead-letter",
            "mail.alerts",
            "mail.provider-state",
        ]
        consumer = make_consumer(
            self.kafka,
            "responder-tests",
            f"{self.kafka.topic_prefix}collector",
            *[self.kafka.topic_prefix + n for n in names],
        )
        await consumer.start()

        async def collect() -> None:
            async for record in consumer:
                name = record.topic[len(self.kafka.topic_prefix) :]
                self.raw_counts[name] = self.raw_counts.get(name, 0) + 1
                with contextlib.suppress(Exception):
                    self.events.setdefault(name, []).append(decode_event(record.value))

        task = asyncio.create_task(collect())
        self._tasks.append(task)
        self._consumer = consumer

    async def close(self) -> None:
        for w in self.workers:
            w.stop()
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(BaseException):
                await t
        await self._consumer.stop()
        await self._producer.stop()

    async def send(self, email: InboundEmail) -> None:
        await send_event(self._producer, self.kafka.topic(INBOUND), email, key=email.thread_key)

    def expected_partitions(self) -> set[str]:
        p = self.kafka.topic_prefix
        app = p + "mailroom-responder"
        want = {f"{p}mail.inbound/{i}" for i in range(6)}
        want |= {f"{p}mail.outbound/{i}" for i in range(6)}
        want |= {f"{p}mail.llm-requests/{i}" for i in range(3)}
        want |= {f"{p}mail.classify-requests/{i}" for i in range(3)}
        want |= {f"{p}mail.responder.holding/{i}" for i in range(3)}
        for d in ("30s", "60s", "120s"):
            want |= {f"{p}mail.responder.retry-{d}/{i}" for i in range(6)}
        want |= {f"{app}-history-changelog/{i}" for i in range(6)}
        want |= {f"{app}-llm-done-changelog/{i}" for i in range(3)}
        want |= {f"{app}-provider-state-changelog/{i}" for i in range(3)}
        want |= {f"{app}-classifier-state-changelog/{i}" for i in range(3)}
        want |= {f"{app}-classify-done-changelog/{i}" for i in range(3)}
        return want

    async def wait_assigned(self, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Every partition (changelogs too) is owned by exactly one live worker."""
        live = [w for w in self.workers if w.proc is not None and w.proc.poll() is None]

        async def settled() -> list[dict[str, Any]] | None:
            healths = [await w.health() for w in live]
            if any(h is None or h["rebalancing"] for h in healths):
                return None
            owned = [p for h in healths if h for p in h["assigned"]]
            if len(owned) != len(set(owned)) or set(owned) != self.expected_partitions():
                return None
            return [h for h in healths if h]

        result: list[dict[str, Any]] = await wait_for(settled, timeout, "partition assignment", 0.5)
        return result

    def of(self, topic: str, **match: Any) -> list[Any]:
        return [
            e
            for e in self.events.get(topic, [])
            if all(getattr(e, k) == v for k, v in match.items())
        ]

    def statuses(self, message_key: str) -> list[str]:
        return [e.status.value for e in self.of("mail.status", message_key=message_key)]


@pytest.fixture
async def cluster(
    kafka_topics: KafkaSettings, seeded_database: str, offline_llm: OfflineLlm, tmp_path: Path
) -> AsyncIterator[Cluster]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "GROQ_"))},
        "KAFKA_BOOTSTRAP_SERVERS": kafka_topics.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": kafka_topics.topic_prefix,
        "DATABASE_URL": seeded_database,
        "GROQ_API_KEY": "offline-test-key",
        "GROQ_BASE_URL": offline_llm.base_url,
        "GROQ_TIMEOUT_S": "5",
        "OTEL_SDK_DISABLED": "true",
        "MAILROOM_LOG_FORMAT": "json",
        "RESPONDER_SESSION_TIMEOUT_S": "6",
        "RESPONDER_HEARTBEAT_INTERVAL_S": "1",
        "RESPONDER_COMMIT_INTERVAL_S": "0.5",
        "RESPONDER_RETRY_DELAYS_S": "[1, 1, 1, 1]",
        "RESPONDER_BREAKER_COOLDOWN_S": "4",
        "RESPONDER_RATE_LIMIT_REQUESTS": "100",
        "RESPONDER_CATALOGUE_REFRESH_S": "30",
    }
    c = Cluster(kafka_topics, env, tmp_path)
    await c.start()
    try:
        yield c
    finally:
        await c.close()
        # Faust's own topics (changelogs) are per test too: remove them.
        admin = make_admin(kafka_topics, "responder-tests")
        await admin.start()
        try:
            internal = [
                t
                for t in await admin.list_topics()
                if t.startswith(kafka_topics.topic_prefix + "mailroom-responder")
            ]
            if internal:
                with contextlib.suppress(Exception):
                    await admin.delete_topics(internal)
        finally:
            await admin.close()


def topic_names(specs: tuple[TopicSpec, ...] = REGISTRY) -> list[str]:
    return [s.name for s in specs]


def dump(obj: Any) -> str:
    return json.dumps(obj, default=str)[:2000]


@pytest.fixture
def make_mail() -> Iterator[Callable[..., InboundEmail]]:
    counter = iter(range(1, 1_000_000))

    def make(text: str, subject: str = "Consulta", **kw: Any) -> InboundEmail:
        n = next(counter)
        fields: dict[str, Any] = {
            "message_key": f"<it{n}-{time.time_ns()}@customer.test>",
            "thread_key": f"thread-{n}-{time.time_ns()}",
            "mailbox": "shop@mailroom.test",
            "from_address": f"client{n}@customer.test",
            "subject": subject,
            "text": text,
        }
        fields["message_id"] = fields["message_key"]
        fields.update(kw)
        return InboundEmail(**fields)

    return make
