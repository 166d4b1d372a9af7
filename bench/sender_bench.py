"""Sender throughput: messages/s from ``mail.outbound`` to SMTP acceptance, with the ledger.

Publishes N replies to a fresh topic prefix, starts the sender in-process against a fresh
migrated database and an aiosmtpd sink in its own process, and measures the time from
"sender ready" until every ledger row is ``sent`` (the row becomes ``sent`` only after
the SMTP server's 250). Runs once with connection reuse and once without.

    .venv/bin/python bench/sender_bench.py [--messages 2000] [--concurrency N] [--reuse-only]

Needs the local stack's Kafka and PostgreSQL (deploy/local/stack.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid

import asyncpg
from pydantic import SecretStr

from mailroom_common.config import CommonSettings, DatabaseSettings, KafkaSettings
from mailroom_common.db.migrate import upgrade
from mailroom_common.events import OutboundEmail
from mailroom_common.kafka import make_admin, make_producer
from mailroom_common.logging import configure_logging
from mailroom_common.topics import OUTBOUND, REGISTRY, ensure_topics
from mailroom_sender.app import Settings, run
from mailroom_sender.settings import SenderSettings

PG_ADMIN = os.environ.get(
    "MAILROOM_TEST_PG_DSN", "postgresql://mailroom:mailroom@127.0.0.1:25432/mailroom"
)
KAFKA = os.environ.get("MAILROOM_TEST_KAFKA", "127.0.0.1:29092")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def admin_sql(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def publish(kafka: KafkaSettings, n: int, tag: str) -> None:
    producer = make_producer(kafka, "bench", linger_ms=20)
    await producer.start()
    try:
        futures = []
        for i in range(n):
            ev = OutboundEmail(
                message_key=f"<bench-{tag}-{i}@cliente.com>",
                thread_key=f"t-{tag}-{i}",
                to=f"c{i}@example.com",
                subject="Consulta",
                body_text="Hola, gracias por escribir. " * 10,
                in_reply_to=f"<bench-{tag}-{i}@cliente.com>",
            )
            futures.append(
                await producer.send(
                    kafka.topic(OUTBOUND), ev.model_dump_json().encode(), key=ev.thread_key.encode()
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def count_sent(conn: asyncpg.Connection, tag: str) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM send_ledger WHERE state = 'sent' AND message_key LIKE $1",
            f"<bench-{tag}-%",
        )
    )


async def ledger_span(conn: asyncpg.Connection, tag: str) -> float:
    """Seconds from the first claim to the last acceptance, from the ledger's own clock:
    the sending rate without the consumer's start-up (group join, first fetch)."""
    return float(
        await conn.fetchval(
            "SELECT extract(epoch FROM max(sent_at) - min(created_at)) FROM send_ledger"
            " WHERE message_key LIKE $1",
            f"<bench-{tag}-%",
        )
    )


async def one_run(
    n: int, reuse: bool, *, concurrency: int, db_url: str, pg_dsn: str, smtp_port: int
) -> tuple[float, float, float]:
    tag = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(bootstrap_servers=KAFKA, topic_prefix=f"bench{tag}.")
    admin = make_admin(kafka, "bench")
    await admin.start()
    try:
        await ensure_topics(admin, REGISTRY, name_prefix=kafka.topic_prefix)
        await publish(kafka, n, tag)
        health = free_port()
        cfg = Settings(
            SenderSettings(
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
                smtp_security="plain",
                smtp_reuse_connection=reuse,
                concurrency=concurrency,
                health_host="127.0.0.1",
                health_port=health,
                group_id=f"bench-{tag}",
                max_replies_per_recipient=1000,
                max_replies_per_thread=1000,
            ),
            CommonSettings(),
            kafka,
            DatabaseSettings(url=SecretStr(db_url), pool_size=concurrency + 2),
        )
        stop = asyncio.Event()
        # One polling connection for the whole run: reconnecting ten times a second would
        # cost the sender (same process, same event loop) measurable CPU.
        poll = await asyncpg.connect(pg_dsn)
        task = asyncio.create_task(run(cfg, "send", stop))
        started = time.perf_counter()
        cpu_started = time.process_time()
        try:
            while (done := await count_sent(poll, tag)) < n:
                if task.done():
                    task.result()
                    raise RuntimeError("sender stopped")
                if time.perf_counter() - started > 600:
                    raise TimeoutError(f"only {done}/{n} sent")
                await asyncio.sleep(0.1)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            steady = await ledger_span(poll, tag)
        finally:
            stop.set()
            await task
            await poll.close()
        return elapsed, steady, cpu
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([kafka.topic(s) for s in REGISTRY])
        await admin.close()


async def main_async(n: int, concurrency: int, modes: tuple[bool, ...] = (True, False)) -> None:
    configure_logging("bench", level="WARNING")
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    name = f"mailroom_bench_{uuid.uuid4().hex[:8]}"
    await admin_sql(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rpartition("/")[0]
    pg_dsn = f"{base}/{name}"
    db_url = pg_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    smtp_port = free_port()
    sink = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measurement
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{smtp_port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
    )
    try:
        await asyncio.to_thread(upgrade, "head", db_url)
        await asyncio.sleep(1.0)  # let the sink bind
        results = []
        for reuse in (True, False):
            if reuse not in modes:
                continue
            elapsed, steady, cpu = await one_run(
                n, reuse, concurrency=concurrency, db_url=db_url, pg_dsn=pg_dsn, smtp_port=smtp_port
            )
            results.append((reuse, elapsed, steady, cpu))
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"sender benchmark: {n} messages, {concurrency} workers, ledger in PostgreSQL")
        print(f"  load average after the runs: {load} (2 cores; shared machine)")
        for reuse, elapsed, steady, cpu in results:
            label = "with connection reuse   " if reuse else "without connection reuse"
            # CPU per message of the sender's process: far less at the mercy of whatever
            # else the machine is running than the wall-clock rate.
            print(
                f"  {label}: {elapsed:6.2f} s  {n / elapsed:7.1f} msgs/s from start"
                f"  ({n / steady:7.1f} msgs/s first claim -> last 250)"
                f"  sender CPU {1000 * cpu / n:.2f} ms/msg"
            )
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=SenderSettings().concurrency)
    parser.add_argument(
        "--reuse-only", action="store_true", help="skip the run without connection reuse"
    )
    args = parser.parse_args()
    modes = (True,) if args.reuse_only else (True, False)
    asyncio.run(main_async(args.messages, args.concurrency, modes))


if __name__ == "__main__":
    main()
