"""Browser tests of the console: the real admin API process, Debian's Chromium, Playwright.

* ``console_server`` (session): ``python -m mailroom_admin_api`` on 127.0.0.1 and a free
  port, against the run's PostgreSQL (the root conftest's ``database_url``) and the local
  Kafka under a topic prefix of its own (so ``mail.provider-state`` records published by a
  test reach only this server). ``ADMIN_CONSOLE_REFRESH_S=1`` so live parts refresh fast.
* ``browser`` (session): Chromium from Debian (``/usr/bin/chromium``, installed by
  ``bash deploy/local/stack.sh browser``, which ``make test`` runs) launched by Playwright
  for Python with the flags this machine needs; Playwright gives every launch a fresh,
  empty user-data-dir. Nothing is ever downloaded (``playwright install`` is never used).
* ``context`` / ``page``: a new browser context per test (no cookies shared between tests),
  English by default; ``console`` is a helper with the server's URL, the token, sign-in,
  screenshots (``bench/results/console/<name>.png``, git-ignored) and a seeder whose rows
  are deleted after the test. The database is shared by the whole run: tests assert on
  their own rows or on differences, never on absolute totals.

Every test here is ``integration`` (it needs the local stack), marked by the modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.config import KafkaSettings
from mailroom_common.events import ProviderStateEvent, decode_event, encode_event
from mailroom_common.kafka import connection_kwargs, make_admin
from mailroom_common.topics import PROVIDER_STATE, REGISTRY, TopicSpec, ensure_topics
from mailroom_devstack.browser import chromium, missing_message

TOKEN = "browser-test-token-0123456789abcdef"
REPO = Path(__file__).resolve().parents[4]
SCREENSHOTS = REPO / "bench" / "results" / "console"
KAFKA_BOOTSTRAP = os.environ.get("MAILROOM_TEST_KAFKA", "127.0.0.1:29092")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    kafka: KafkaSettings
    log: Path


@pytest.fixture(scope="session")
async def console_kafka() -> AsyncIterator[KafkaSettings]:
    settings = KafkaSettings(
        bootstrap_servers=KAFKA_BOOTSTRAP, topic_prefix=f"console{uuid.uuid4().hex[:6]}."
    )
    admin = make_admin(settings, "tests")
    await admin.start()
    try:
        await ensure_topics(admin, REGISTRY, name_prefix=settings.topic_prefix)
        yield settings
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([settings.topic(s) for s in REGISTRY])
        await admin.close()


@pytest.fixture(scope="session")
def console_server(
    database_url: str, console_kafka: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The admin API as operators run it: its own process, a real HTTP server."""
    port = _free_port()
    workdir = tmp_path_factory.mktemp("console-server")
    log = workdir / "admin-api.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ADMIN_", "DATABASE_", "KAFKA_", "OTEL_", "MAILROOM_"))
    }
    env.update(
        ADMIN_API_TOKEN=TOKEN,
        ADMIN_HOST="127.0.0.1",
        ADMIN_PORT=str(port),
        ADMIN_CONSOLE_REFRESH_S="1",
        ADMIN_CONSOLE_CHART_CACHE_S="0",  # tests seed past days and look again at once
        DATABASE_URL=database_url,
        DATABASE_POOL_SIZE="2",
        KAFKA_BOOTSTRAP_SERVERS=console_kafka.bootstrap_servers,
        KAFKA_TOPIC_PREFIX=console_kafka.topic_prefix,
        OTEL_SDK_DISABLED="true",
        MAILROOM_LOG_FORMAT="json",
    )
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        # cwd: a fresh folder, so no .env of the checkout is read.
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailroom_admin_api"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"admin API exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"admin API not ready in 60 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield Server(base, console_kafka, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    missing = missing_message()
    if missing is not None:
        pytest.fail(missing)
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def context(browser: Any, console_server: Server) -> AsyncIterator[Any]:
    ctx = await browser.new_context(
        base_url=console_server.base_url,
        locale="en-GB",
        extra_http_headers={"Accept-Language": "en-GB,en;q=0.9"},
        viewport={"width": 1280, "height": 900},
    )
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: Any) -> AsyncIterator[Any]:
    p = await context.new_page()
    problems: list[str] = []
    # A Content-Security-Policy violation or a script error is a bug of the console.
    p.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: problems.append(str(e)))
    p.problems = problems
    yield p
    await p.close()


@dataclass
class ConsoleSeeder:
    """Committed rows with this test's unique keys; deleted again by the fixture."""

    engine: AsyncEngine
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def key(self, n: int | str) -> str:
        return f"<console-{self.tag}-{n}@mail.example.com>"

    async def add(self, *rows: Any) -> None:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            session.add_all(rows)
            await session.commit()

    async def cleanup(self) -> None:
        pattern = f"<console-{self.tag}-%"
        async with self.engine.begin() as conn:
            for table in ("task_status_changes", "dead_letters", "email_tasks"):
                await conn.execute(
                    text(f"DELETE FROM {table} WHERE message_key LIKE :p"),  # noqa: S608
                    {"p": pattern},
                )


@dataclass
class Console:
    server: Server
    seeder: ConsoleSeeder
    token: str = TOKEN

    @property
    def url(self) -> str:
        return self.server.base_url

    async def sign_in(self, page: Any, *, next_path: str = "") -> None:
        await page.goto(f"/console/sign-in{next_path}")
        await page.get_by_label("Admin token").fill(self.token)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/console**")

    async def screenshot(self, page: Any, name: str, *, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        return path

    async def records(
        self, spec: TopicSpec, keys: set[str], *, expect: int = 1, timeout_s: float = 15
    ) -> list[Any]:
        """The events keyed by one of ``keys`` on this server's ``spec`` topic: read until
        ``expect`` are found (or ``timeout_s`` passed), then a second more, so an unwanted
        extra record would be seen too."""
        consumer = AIOKafkaConsumer(
            self.server.kafka.topic(spec),
            **connection_kwargs(self.server.kafka),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        found: list[Any] = []
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            settle: float | None = None
            while settle is None or loop.time() < settle:
                if settle is None and (len(found) >= expect or loop.time() >= deadline):
                    settle = loop.time() + 1.0
                for records in (await consumer.getmany(timeout_ms=250)).values():
                    for r in records:
                        if r.key is not None and r.key.decode() in keys:
                            found.append(decode_event(r.value))
        finally:
            await consumer.stop()
        return found

    async def publish_provider_state(self, **fields: Any) -> None:
        """A breaker/limiter snapshot on this server's ``mail.provider-state``."""
        event = ProviderStateEvent(producer="tests", **fields)
        producer = AIOKafkaProducer(**connection_kwargs(self.server.kafka), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                self.server.kafka.topic(PROVIDER_STATE),
                encode_event(event),
                key=event.provider.encode(),
            )
        finally:
            await producer.stop()


@pytest.fixture
async def console(console_server: Server, database_url: str) -> AsyncIterator[Console]:
    engine = create_async_engine(database_url)
    seeder = ConsoleSeeder(engine)
    try:
        yield Console(console_server, seeder)
    finally:
        try:
            await seeder.cleanup()
        finally:
            await engine.dispose()


async def eventually(check: Any, *, timeout_s: float = 10.0, interval_s: float = 0.25) -> Any:
    """Await ``check()`` until it returns something truthy (or raise its last failure)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            value = await check()
        except AssertionError:
            if asyncio.get_running_loop().time() >= deadline:
                raise
        else:
            if value:
                return value
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(f"not true within {timeout_s}s: {value!r}")
        await asyncio.sleep(interval_s)


@pytest.fixture
def eventually_fn() -> Any:
    return eventually
