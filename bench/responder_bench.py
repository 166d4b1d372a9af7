"""Responder benchmark on the local stack (Kafka 29092, PostgreSQL 25432).

1. FAQ throughput: N FAQ emails are queued on mail.inbound, then one worker process
   starts; throughput = N / (last REPLIED status - first PROCESSING status), using the
   broker's record timestamps, i.e. through the responder alone.
2. Rate-limited LLM backlog: M product questions, a private offline LLM limited to L
   requests/min and the responder's limiter set to the same L. Reports the share of the
   allowed rate used (ideal span for M requests at L/min over the measured span) and the
   number of 429s.

    .venv/bin/python bench/responder_bench.py --faq 2000 --llm 16 --limit 8
    .venv/bin/python bench/responder_bench.py --faq 0 --llm 100 --limit 8   # ~12 minutes

Each run uses its own topic prefix and database; both are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from mailroom_common.config import KafkaSettings
from mailroom_common.db.migrate import upgrade
from mailroom_common.events import InboundEmail, StatusChanged, decode_event, encode_event
from mailroom_common.kafka import make_admin, make_consumer, make_producer
from mailroom_common.topics import INBOUND, REGISTRY, STATUS, ensure_topics

PG_ADMIN = os.environ.get(
    "MAILROOM_TEST_PG_DSN", "postgresql://mailroom:mailroom@127.0.0.1:25432/mailroom"
)
KAFKA = os.environ.get("MAILROOM_TEST_KAFKA", "127.0.0.1:29092")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def produce(kafka: KafkaSettings, mails: list[InboundEmail]) -> None:
    producer = make_producer(kafka, "responder-bench", linger_ms=20)
    await producer.start()
    try:
        futures = [
            await producer.send(kafka.topic(INBOUND), encode_event(m), key=m.thread_key.encode())
            for m in mails
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def collect_statuses(
    kafka: KafkaSettings, keys: set[str], final: str, limit_s: float
) -> dict[str, list[tuple[str, float]]]:
    """message_key -> [(status, broker timestamp s)] until every key reached ``final``."""
    consumer = make_consumer(
        kafka, "responder-bench", f"{kafka.topic_prefix}bench", kafka.topic(STATUS)
    )
    await consumer.start()
    seen: dict[str, list[tuple[str, float]]] = {}
    done: set[str] = set()
    deadline = time.monotonic() + limit_s
    try:
        while done != keys and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for record in records:
                    event = decode_event(record.value)
                    if isinstance(event, StatusChanged) and event.message_key in keys:
                        seen.setdefault(event.message_key, []).append(
                            (event.status.value, record.timestamp / 1000)
                        )
                        if event.status.value in (final, "handoff", "dead_letter"):
                            done.add(event.message_key)
    finally:
        await consumer.stop()
    if done != keys:
        print(f"  warning: {len(keys - done)} of {len(keys)} emails not finished in time")
    return seen


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mailroom_responder", "worker", "-l", "warn"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def start_llm(port: int, rpm: int, log: Path) -> subprocess.Popen[bytes]:
    args = ["--port", str(port), "--rpm", str(rpm), "--log-level", "WARNING"]
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mailroom_devstack.llm_server", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def mail(n: int, text: str) -> InboundEmail:
    key = f"<bench-{n}-{uuid.uuid4().hex[:8]}@customer.test>"
    return InboundEmail(
        message_key=key,
        message_id=key,
        thread_key=f"bench-thread-{n}-{uuid.uuid4().hex[:6]}",
        mailbox="shop@mailroom.test",
        from_address=f"client{n}@customer.test",
        subject="Consulta",
        text=text,
    )


async def bench_faq(kafka: KafkaSettings, env: dict[str, str], n: int, logs: Path) -> None:
    texts = ["¿Hacen envíos a Córdoba?", "¿Qué medios de pago aceptan?", "Do you ship abroad?"]
    mails = [mail(i, texts[i % len(texts)]) for i in range(n)]
    await produce(kafka, mails)
    proc = start_worker(env, logs / "faq-worker.log")
    try:
        seen = await collect_statuses(kafka, {m.message_key for m in mails}, "replied", 180)
    finally:
        stop(proc)
    first = min(ts for s in seen.values() for st, ts in s if st == "processing")
    last = max(ts for s in seen.values() for st, ts in s if st == "replied")
    replied = sum(1 for s in seen.values() if any(st == "replied" for st, _ in s))
    span = max(last - first, 1e-3)
    print(f"FAQ path: {replied}/{n} replied in {span:.2f} s -> {replied / span:,.0f} emails/s")


async def bench_llm(
    kafka: KafkaSettings, env: dict[str, str], n: int, limit: int, logs: Path
) -> None:
    port = free_port()
    llm = start_llm(port, limit, logs / "llm.log")
    base = f"http://127.0.0.1:{port}"
    proc: subprocess.Popen[bytes] | None = None
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(50):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
            mails = [mail(10_000 + i, "¿Qué precio tiene el jean mom?") for i in range(n)]
            await produce(kafka, mails)
            worker_env = {
                **env,
                "GROQ_BASE_URL": base,
                "RESPONDER_RATE_LIMIT_REQUESTS": str(limit),
                "RESPONDER_RATE_LIMIT_WINDOW_S": "60",
                "RESPONDER_APP_ID": "mailroom-responder-llm",
            }
            proc = start_worker(worker_env, logs / "llm-worker.log")
            windows = math.ceil(n / limit)
            timeout = windows * 62 + 60
            await collect_statuses(kafka, {m.message_key for m in mails}, "replied", timeout)
            stats = (await http.get("/_admin/stats")).json()
    finally:
        if proc is not None:
            stop(proc)
        llm.terminate()
        llm.wait(10)
    accepted = sorted(stats["accepted"])
    n429 = stats["by_status"].get("429", 0)
    ideal = (math.ceil(len(accepted) / limit) - 1) * 60.0
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    share = ideal / span if span > 0 else 1.0
    print(
        f"LLM backlog: {len(accepted)}/{n} answered at limit {limit}/min; "
        f"span {span:.1f} s vs ideal {ideal:.1f} s -> {share:.1%} of the allowed rate used; "
        f"429s: {n429}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faq", type=int, default=2000, help="FAQ emails (0 = skip)")
    parser.add_argument("--llm", type=int, default=16, help="LLM backlog emails (0 = skip)")
    parser.add_argument("--limit", type=int, default=8, help="provider requests per minute")
    args = parser.parse_args()

    prefix = f"bench{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap_servers=KAFKA, topic_prefix=prefix)
    db_name = f"mailroom_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{db_name}"')
    await conn.close()
    db_url = PG_ADMIN.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://")
    db_url = f"{db_url}/{db_name}"
    await asyncio.to_thread(upgrade, "head", db_url)
    admin = make_admin(kafka, "responder-bench")
    await admin.start()
    await ensure_topics(admin, REGISTRY, name_prefix=prefix)
    logs = (
        Path(os.environ.get("BENCH_LOG_DIR", tempfile.gettempdir()))
        / f"responder-bench-{prefix[:-1]}"
    )
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "GROQ_"))},
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "KAFKA_TOPIC_PREFIX": prefix,
        "DATABASE_URL": db_url,
        "GROQ_API_KEY": "offline-bench-key",
        "GROQ_BASE_URL": "http://127.0.0.1:9",  # the FAQ run must not call any LLM
        "OTEL_SDK_DISABLED": "true",
        "MAILROOM_LOG_LEVEL": "WARNING",
        "RESPONDER_WEB_PORT": str(free_port()),
    }
    print(f"topic prefix {prefix}  database {db_name}  logs {logs}")
    try:
        if args.faq:
            await bench_faq(kafka, env, args.faq, logs)
        if args.llm:
            await bench_llm(kafka, env, args.llm, args.limit, logs)
    finally:
        with contextlib.suppress(Exception):
            names = [t for t in await admin.list_topics() if t.startswith(prefix)]
            await admin.delete_topics(names)
        await admin.close()
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
