"""Mail waiting at start-up is decided only after the catalogue has loaded.

Mail is queued on ``mail.inbound`` before the worker starts while the test holds an ACCESS
EXCLUSIVE lock on ``products``, so the worker's first catalogue load blocks (and, with a
2 s load timeout, fails and is retried). Until the lock goes: /readyz answers 503, one
``catalogue_load_failed`` alert is published, and no mail is decided. After it: /readyz
answers 200 and every waiting mail is decided against the full catalogue. A worker stopped
while it waits exits at once and leaves its mail to the next one.

Each test has a database of its own, so the lock never blocks another test's workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from sqlalchemy.ext.asyncio import create_async_engine

from mailroom_common.config import KafkaSettings
from mailroom_common.db.migrate import upgrade
from mailroom_common.kafka import make_admin
from mailroom_responder.app import create_app
from mailroom_responder.settings import ResponderSettings
from mailroom_responder.store import load_catalogue
from mailroom_responder.tables import declare_tables

from .conftest import seed_catalogue, wait_for

pytestmark = pytest.mark.integration

PRODUCT_QUESTIONS = [
    # For the LLM (no template answers material or fit), with the excerpt.
    "¿De qué tela es el jean mom?",
    "Hola, ¿cómo calza el jean mom? ¿Es de tela rígida?",
    "¿La remera básica es de algodón? ¿Encoge al lavarla?",
]
FAQ_QUESTIONS = ["¿Hacen envíos a Córdoba?", "¿Qué medios de pago aceptan?"]
HANDOFF = "Quiero hablar con una persona"


@pytest.fixture
def own_database(pg_admin_dsn: str) -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL, libpq DSN) of a migrated, seeded database for this test only."""
    name = f"mailroom_catwait_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = pg_admin_dsn.rpartition("/")
    dsn = f"{base}/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        upgrade("head", url)
        asyncio.run(seed_catalogue(url))
        yield url, dsn
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def readyz(port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        async with httpx.AsyncClient(timeout=2.0) as http:
            r = await http.get(f"http://127.0.0.1:{port}/readyz")
        body: dict[str, Any] = r.json()
        return r.status_code, body
    except (httpx.HTTPError, ValueError):
        return None  # the web server starts once table recovery is done


class ProductsLock:
    """``LOCK TABLE products IN ACCESS EXCLUSIVE MODE`` in an open transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.transaction = conn.transaction()
        self.held = False

    async def release(self) -> None:
        if self.held:
            self.held = False
            await self.transaction.rollback()


@contextlib.asynccontextmanager
async def products_locked(dsn: str) -> AsyncIterator[ProductsLock]:
    conn = await asyncpg.connect(dsn)
    lock = ProductsLock(conn)
    try:
        await lock.transaction.start()
        await conn.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        lock.held = True
        yield lock
    finally:
        await lock.release()
        await conn.close()


async def create_changelogs(kafka: KafkaSettings) -> None:
    """Create the worker's changelog topics before it starts.

    A worker that creates them itself, on a fresh app id, may join its group before the
    broker's metadata lists them; it then owns no changelog partition, and its agents fail
    on their first table write, until a metadata refresh (minutes) makes it rejoin. Other
    tests wait for the assignment before sending mail; here mail is waiting from the start.
    """
    app = create_app(ResponderSettings(), kafka)
    declare_tables(app)
    admin = make_admin(kafka, "responder-tests")
    await admin.start()
    try:
        for table in app.tables.values():
            topic = NewTopic(
                table.changelog_topic_name,
                num_partitions=table.partitions,
                replication_factor=1,
                topic_configs={"cleanup.policy": "compact"},
            )
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([topic])
    finally:
        await admin.close()


def slow_worker(cluster: Any, url: str) -> Any:
    """A worker whose blocked catalogue load gives up after 2 s and retries within 1 s."""
    return cluster.worker(
        DATABASE_URL=url,
        RESPONDER_CATALOGUE_LOAD_TIMEOUT_S="2",
        RESPONDER_CATALOGUE_RETRY_INITIAL_S="0.5",
        RESPONDER_CATALOGUE_RETRY_MAX_S="1",
    )


async def not_ready_yet(worker: Any) -> dict[str, Any]:
    """/readyz once the web server answers: it must be a 503 naming the catalogue."""

    async def answering() -> tuple[int, dict[str, Any]] | None:
        assert worker.proc is not None
        assert worker.proc.poll() is None, worker.tail()
        return await readyz(worker.port)

    status, body = await wait_for(answering, 45, "/readyz answering", 0.2)
    assert status == 503, body
    assert body["ready"] is False
    assert "catalogue" in body["missing"]
    assert body["faq"]["loaded"] is True
    assert body["catalogue"]["loaded"] is False
    return body


async def every_mail_decided(cluster: Any, mails: list[Any], timeout: float) -> None:
    async def finished() -> bool:
        return all(
            any(s in ("replied", "handoff") for s in cluster.statuses(m.message_key)) for m in mails
        )

    await wait_for(finished, timeout, "every waiting mail decided", 0.3)


def assert_decided_against_the_full_catalogue(cluster: Any, products: list[Any]) -> None:
    for mail in products:
        (reply,) = cluster.of("mail.outbound", message_key=mail.message_key)
        assert reply.route.value == "catalogue", (mail.text, reply)
        assert any(name in reply.body_text for name in ("Jean Mom", "Remera Básica")), reply
        assert any(price in reply.body_text for price in ("45000", "12500")), reply


async def test_mail_waiting_at_start_up_is_decided_against_the_full_catalogue(
    own_database: tuple[str, str], cluster: Any, make_mail: Any, offline_llm: Any
) -> None:
    url, dsn = own_database
    started = time.monotonic()
    products = [make_mail(q) for q in PRODUCT_QUESTIONS]
    faqs = [make_mail(q) for q in FAQ_QUESTIONS]
    handoff = make_mail(HANDOFF)
    mails = [*products, *faqs, handoff]
    await create_changelogs(cluster.kafka)
    async with products_locked(dsn) as lock:
        for mail in mails:  # all waiting before the worker exists
            await cluster.send(mail)
        worker = slow_worker(cluster, url)
        worker.start()
        await not_ready_yet(worker)

        # The blocked load times out, is alerted once and retried; the worker has its
        # partitions and the mail, but decides none of it.
        async def alerted() -> list[Any]:
            return cluster.of("mail.alerts", kind="catalogue_load_failed")

        await wait_for(alerted, 30, "a catalogue_load_failed alert", 0.2)
        await cluster.wait_assigned(30)

        async def retried() -> bool:
            answer = await readyz(worker.port)
            return bool(answer and answer[1]["catalogue"]["failures"] >= 2)

        await wait_for(retried, 15, "a second failed load", 0.2)
        answer = await readyz(worker.port)
        assert answer is not None
        assert answer[0] == 503, answer
        assert "TimeoutError" in (answer[1]["catalogue"]["last_error"] or ""), answer
        decided_early = [m.message_key for m in mails if cluster.statuses(m.message_key)]
        assert decided_early == [], "mail was decided before the catalogue loaded"
        assert (await offline_llm.stats())["requests_total"] == 0

        await lock.release()

        async def ready() -> dict[str, Any] | None:
            got = await readyz(worker.port)
            return got[1] if got and got[0] == 200 else None

        body = await wait_for(ready, 20, "/readyz 200", 0.2)
        assert body["ready"] is True
        assert body["missing"] == []
        assert body["catalogue"]["products"] == 2
        assert body["catalogue"]["failures"] == 0
        await every_mail_decided(cluster, mails, 40)

    assert_decided_against_the_full_catalogue(cluster, products)
    assert (await offline_llm.stats())["requests_total"] == len(products)
    for mail in faqs:
        (reply,) = cluster.of("mail.outbound", message_key=mail.message_key)
        assert reply.route.value == "faq", (mail.text, reply)
    assert "handoff" in cluster.statuses(handoff.message_key)

    # One alert for the whole failure streak, critical.
    (alert,) = cluster.of("mail.alerts", kind="catalogue_load_failed")
    assert alert.severity.value == "critical"
    assert alert.details["phase"] == "first_load"
    assert "catalogue.recovered" in worker.log_path.read_text("utf-8", "replace")
    assert time.monotonic() - started < 60


async def test_a_worker_stopped_while_it_waits_hands_its_mail_back(
    own_database: tuple[str, str], cluster: Any, make_mail: Any
) -> None:
    url, dsn = own_database
    products = [make_mail(q) for q in PRODUCT_QUESTIONS[:2]]
    mails = [*products, make_mail(FAQ_QUESTIONS[0]), make_mail(HANDOFF)]
    await create_changelogs(cluster.kafka)
    async with products_locked(dsn) as lock:
        for mail in mails:
            await cluster.send(mail)
        first = slow_worker(cluster, url)
        first.start()
        await not_ready_yet(first)
        await cluster.wait_assigned(30)
        await asyncio.sleep(1.0)  # the mail is fetched into the (waiting) inbound agent
        assert first.proc is not None
        t0 = time.monotonic()
        first.proc.send_signal(signal.SIGTERM)
        # Nothing was handed to the agent, so Faust has nothing to wait for.
        rc = await asyncio.to_thread(first.proc.wait, 15)
        assert rc == 0, first.tail()
        assert time.monotonic() - t0 < 10
        assert [m.message_key for m in mails if cluster.statuses(m.message_key)] == []
        await lock.release()

    second = cluster.worker(DATABASE_URL=url)
    second.start()
    await every_mail_decided(cluster, mails, 45)
    assert_decided_against_the_full_catalogue(cluster, products)


async def test_the_loaded_catalogue_leaves_out_inactive_variants(
    own_database: tuple[str, str],
) -> None:
    """A variant a replacing catalogue import deactivated is never offered."""
    url, dsn = own_database
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE variants SET active = false WHERE size = '40'")
    finally:
        await conn.close()
    engine = create_async_engine(url)
    try:
        catalogue = await load_catalogue(engine)
    finally:
        await engine.dispose()
    variants = {p.sku: [v.size for v in p.variants] for p in catalogue.products}
    assert variants == {"JM-01": ["38"], "RB-01": ["M"]}
