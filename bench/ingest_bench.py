"""Ingest benchmark against the local stack (Dovecot, Kafka, PostgreSQL).

1. Catch-up: N mails already waiting in a fresh folder; the ingest service is started and
   we measure mails per second from Dovecot to acknowledged Kafka records.
2. IDLE latency: with the service idling, mails arrive one at a time; for each we measure
   APPEND → record visible to a consumer, and APPEND → producer create time.

    .venv/bin/python bench/ingest_bench.py [--mails 1000] [--samples 50]

The service runs as a real subprocess (``python -m mailroom_ingest``) with its own
database, topic prefix and IMAP folder; everything is removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from imap_tools import MailBoxUnencrypted

from mailroom_common.config import KafkaSettings
from mailroom_common.db.migrate import upgrade
from mailroom_common.events import InboundEmail, decode_event
from mailroom_common.kafka import connection_kwargs, make_admin
from mailroom_common.topics import ALERTS, INBOUND, ensure_topics

IMAP = ("127.0.0.1", 21143)
USER, PASSWORD = "sales@mailroom.test", "sales-secret"
PG_ADMIN = os.environ.get(
    "MAILROOM_TEST_PG_DSN", "postgresql://mailroom:mailroom@127.0.0.1:25432/mailroom"
)
KAFKA = os.environ.get("MAILROOM_TEST_KAFKA", "127.0.0.1:29092")
_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")


def _mail(n: int, tag: str) -> bytes:
    return (
        f"From: Cliente {n} <cliente{n}@example.com>\r\nTo: {USER}\r\n"
        f"Subject: Consulta {n}\r\nMessage-ID: <bench-{tag}-{n}@example.com>\r\n"
        "Date: Mon, 3 Mar 2025 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "\r\nHola, ¿tienen la taza azul en talla grande? Gracias.\r\n\r\n"
        "El lun, 3 mar 2025 a las 9:00, Tienda <shop@mailroom.test> escribió:\r\n> Hola\r\n"
    ).encode()


def _append(box: Any, folder: str, raw: bytes) -> int:
    result = box.append(raw, folder, dt=None)
    match = _APPENDUID.search(b" ".join(x for x in result[1] if isinstance(x, bytes)))
    assert match, result
    return int(match.group(1))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


class Collector:
    """Reads the inbound topic; remembers when each UID became visible."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self.seen: dict[int, tuple[float, float]] = {}  # uid -> (seen wall s, create ts s)
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            **connection_kwargs(self.settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=5,
        )
        await consumer.start()
        topic = self.settings.topic(INBOUND)
        parts: set[int] | None = None
        for _ in range(50):
            parts = consumer.partitions_for_topic(topic)
            if parts:
                break
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        assert parts, f"no partitions for {topic}"
        consumer.assign([TopicPartition(topic, p) for p in parts])
        await consumer.seek_to_beginning()
        self._consumer = consumer
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=50, max_records=5000)
            now = time.time()
            for records in batches.values():
                for record in records:
                    event = decode_event(record.value)
                    assert isinstance(event, InboundEmail)
                    if event.uid is not None:
                        self.seen.setdefault(event.uid, (now, record.timestamp / 1000))

    async def wait(self, uids: set[int], limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while not uids <= self.seen.keys():
            if time.monotonic() > deadline:
                missing = len(uids - self.seen.keys())
                raise SystemExit(f"timed out: {missing} mails not published")
            await asyncio.sleep(0.002)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


def _service_env(kafka: KafkaSettings, db_url: str, folder: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INGEST_", "KAFKA_"))}
    env.update(
        {
            "INGEST_IMAP_HOST": IMAP[0],
            "INGEST_IMAP_PORT": str(IMAP[1]),
            "INGEST_IMAP_SECURITY": "starttls",
            "INGEST_TLS_VERIFY": "false",
            "INGEST_IMAP_USER": USER,
            "INGEST_IMAP_PASSWORD": PASSWORD,
            "INGEST_IMAP_FOLDER": folder,
            "INGEST_MAILBOX_NAME": f"bench-{folder}",
            "INGEST_HEALTH_PORT": str(port),
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "DATABASE_URL": db_url,
            "MAILROOM_LOG_LEVEL": "WARNING",
            "MAILROOM_LOG_FORMAT": "json",
        }
    )
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
        text: str = resp.read().decode()
        return text


def _wait_idle(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"ingest exited with {proc.returncode}")
        with contextlib.suppress(Exception):
            body = json.loads(_get(port, "/readyz"))
            if all(m["mode"] == "idle" for m in body["mailboxes"]):
                return
        time.sleep(0.05)
    raise SystemExit("ingest never reached IDLE")


def _fetch_to_ack(port: int) -> tuple[float, int]:
    total = count = 0.0
    for line in _get(port, "/metrics").splitlines():
        if line.startswith("mailroom_ingest_fetch_to_ack_seconds_sum"):
            total += float(line.split()[-1])
        elif line.startswith("mailroom_ingest_fetch_to_ack_seconds_count"):
            count += float(line.split()[-1])
    return total, int(count)


@dataclass
class Rig:
    """Everything the benchmark creates, so it can all be removed afterwards."""

    tag: str
    db_name: str
    db_url: str
    kafka: KafkaSettings
    admin: Any
    folder: str
    box: Any
    collector: Collector
    log: Any
    port: int
    proc: subprocess.Popen[bytes] | None = None


async def _set_up() -> Rig:
    tag = uuid.uuid4().hex[:8]
    db_name = f"mailroom_bench_{tag}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{db_name}"')
    await conn.close()
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    db_url = f"{base}/{db_name}"
    await asyncio.to_thread(upgrade, "head", db_url)
    kafka = KafkaSettings(bootstrap_servers=KAFKA, topic_prefix=f"bench{tag}.")
    admin = make_admin(kafka, "ingest-bench")
    await admin.start()
    await ensure_topics(admin, (INBOUND, ALERTS), name_prefix=kafka.topic_prefix)
    folder = f"ingest-bench-{tag}"
    box = MailBoxUnencrypted(*IMAP, timeout=30).login(USER, PASSWORD, initial_folder=None)
    box.folder.create(folder)
    log = tempfile.NamedTemporaryFile(prefix="ingest-bench-", suffix=".log", delete=False)  # noqa: SIM115
    return Rig(tag, db_name, db_url, kafka, admin, folder, box, Collector(kafka), log, _free_port())


async def _tear_down(rig: Rig) -> None:
    if rig.proc is not None and rig.proc.poll() is None:
        rig.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(rig.proc.wait, 30)
        except subprocess.TimeoutExpired:
            rig.proc.kill()
    rig.log.close()
    await rig.collector.stop()
    with contextlib.suppress(Exception):
        rig.box.folder.delete(rig.folder)
    with contextlib.suppress(Exception):
        rig.box.logout()
    with contextlib.suppress(Exception):
        await rig.admin.delete_topics([rig.kafka.topic(s) for s in (INBOUND, ALERTS)])
    await rig.admin.close()
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{rig.db_name}" WITH (FORCE)')
    await conn.close()
    print(f"\n(service log: {rig.log.name})")


async def _catch_up(rig: Rig, mails: int) -> None:
    t0 = time.monotonic()
    waiting = {_append(rig.box, rig.folder, _mail(i, rig.tag)) for i in range(mails)}
    print(f"appended {mails} mails in {time.monotonic() - t0:.2f}s")
    await rig.collector.start()
    started = time.time()
    rig.proc = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "mailroom_ingest"],
        env=_service_env(rig.kafka, rig.db_url, rig.folder, rig.port),
        stdout=rig.log,
        stderr=subprocess.STDOUT,
    )
    await rig.collector.wait(waiting, limit_s=300)
    seen = [rig.collector.seen[u] for u in waiting]
    first_create = min(c for _, c in seen)
    last_create = max(c for _, c in seen)
    last_seen = max(s for s, _ in seen)
    rate = (mails - 1) / max(last_create - first_create, 1e-6)
    print("\n== catch-up: mails already waiting ==")
    print(f"mails:                          {mails}")
    print(f"first -> last publish:          {last_create - first_create:.3f}s")
    print(f"catch-up rate:                  {rate:,.0f} mails/s")
    print(f"process start -> all consumed:  {last_seen - started:.2f}s (includes start-up)")


async def _idle_latency(rig: Rig, samples: int, offset: int) -> None:
    assert rig.proc is not None
    await asyncio.to_thread(_wait_idle, rig.port, rig.proc)
    sum0, count0 = _fetch_to_ack(rig.port)
    seen_lat: list[float] = []
    create_lat: list[float] = []
    for i in range(samples):
        await asyncio.sleep(random.uniform(0.05, 0.25))
        before = time.time()
        uid = _append(rig.box, rig.folder, _mail(offset + i, rig.tag))
        await rig.collector.wait({uid}, limit_s=30)
        seen_at, created_at = rig.collector.seen[uid]
        seen_lat.append(seen_at - before)
        create_lat.append(created_at - before)
        await asyncio.to_thread(_wait_idle, rig.port, rig.proc)
    sum1, count1 = _fetch_to_ack(rig.port)
    own_mean = (sum1 - sum0) / max(count1 - count0, 1)
    print("\n== IDLE: mails arriving one at a time ==")
    print(f"samples:                                  {samples}")
    print(
        f"APPEND -> visible to consumer  p50/p99:   {_pct(seen_lat, 50) * 1000:.0f} / "
        f"{_pct(seen_lat, 99) * 1000:.0f} ms (max {max(seen_lat) * 1000:.0f})"
    )
    print(
        f"APPEND -> producer send        p50/p99:   {_pct(create_lat, 50) * 1000:.0f} / "
        f"{_pct(create_lat, 99) * 1000:.0f} ms"
    )
    print(f"ingest's own fetch -> Kafka ack (mean):   {own_mean * 1000:.1f} ms")
    mean_ms = statistics.mean(seen_lat) * 1000
    print(f"mean APPEND -> visible:                   {mean_ms:.0f} ms")


async def run(mails: int, samples: int) -> None:
    rig = await _set_up()
    try:
        await _catch_up(rig, mails)
        await _idle_latency(rig, samples, offset=mails)
    finally:
        await _tear_down(rig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=1000, help="mails waiting for catch-up")
    parser.add_argument("--samples", type=int, default=50, help="mails sent one at a time")
    args = parser.parse_args()
    asyncio.run(run(args.mails, args.samples))


if __name__ == "__main__":
    main()
