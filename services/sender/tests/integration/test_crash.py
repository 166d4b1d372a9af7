"""SIGKILL the sender at random points while it works through a batch: nothing is sent
twice, and whatever cannot be proven sent is flagged uncertain with an alert."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.events import AlertEvent, OutboundEmail, StatusChanged, TaskStatus
from mailroom_common.topics import ALERTS, OUTBOUND, STATUS
from mailroom_sender.message import make_message_id

from .conftest import Bus, SmtpSink, free_port, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

BATCH = 200
KILLS = 10


def _env(
    bus: Bus, database_url: str, smtp_port: int, health_port: int, group: str
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bus.kafka.bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": bus.kafka.topic_prefix,
            "DATABASE_URL": database_url,
            "SENDER_SMTP_HOST": "127.0.0.1",
            "SENDER_SMTP_PORT": str(smtp_port),
            "SENDER_SMTP_SECURITY": "plain",
            "SENDER_HEALTH_HOST": "127.0.0.1",
            "SENDER_HEALTH_PORT": str(health_port),
            "SENDER_GROUP_ID": group,
            # Static membership: a restarted sender takes its partitions back at once.
            "SENDER_INSTANCE_ID": f"{group}-0",
            "SENDER_STALE_SENDING_AFTER_S": "0",
            "SENDER_CONCURRENCY": "2",
            "SENDER_COMMIT_INTERVAL_S": "0.2",
            "SENDER_MAX_REPLIES_PER_RECIPIENT": "10",
            "MAILROOM_LOG_LEVEL": "WARNING",
            "MAILROOM_SHOP_DOMAIN": "mailroom.test",
            "OTEL_SDK_DISABLED": "true",
        }
    )
    return env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mailroom_sender", "send"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _states(engine: AsyncEngine, keys: list[str]) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT message_key, state FROM send_ledger WHERE message_key = ANY(:k)"),
            {"k": keys},
        )
        return {r.message_key: r.state for r in rows}


async def test_sigkill_ten_times_during_a_batch_never_sends_twice(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine, tmp_path: Path
) -> None:
    # A realistic server keeps several messages in flight. It also bounds the pace so the
    # kills always land mid-batch: 2 workers / 0.1 s per message is at most 20 msgs/s, and
    # ten runs of at most 0.9 s each can send at most 180 of the 200 before the last kill.
    smtp_sink.delay_s = 0.1
    rng = random.Random(int(os.environ.get("SENDER_KILL_SEED", "5")))
    tag = uuid.uuid4().hex[:8]
    outs = [
        OutboundEmail(
            message_key=f"<kill-{tag}-{i}@cliente.com>",
            thread_key=f"thread-{tag}-{i}",
            to=f"c{i}-{tag}@example.com",
            subject="Consulta",
            body_text=f"respuesta {i}",
            in_reply_to=f"<kill-{tag}-{i}@cliente.com>",
        )
        for i in range(BATCH)
    ]
    for out in outs:
        await bus.publish(OUTBOUND, out, key=out.thread_key)
    keys = [o.message_key for o in outs]
    health = free_port()
    env = _env(bus, database_url, smtp_sink.port, health, f"kill-{tag}")
    log = tmp_path / "sender.log"
    kills_done = 0
    for _ in range(KILLS):
        proc = _start(env, log)
        try:
            await wait_ready(health, timeout_s=60)
            await asyncio.sleep(rng.uniform(0.2, 0.9))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        kills_done += 1
    progress_at_last_kill = len(smtp_sink.received)
    smtp_sink.delay_s = 0.02  # no more kills: the rest may go faster
    proc = _start(env, log)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            states = await _states(db_engine, keys)
            if len(states) == BATCH and set(states.values()) <= {"sent", "uncertain"}:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(
                f"batch not finished: {Counter(states.values())}\n{log.read_text()[-3000:]}"
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    assert kills_done == KILLS
    # The kills really interrupted the work (not all of it was done before the last one).
    assert 0 < progress_at_last_kill < BATCH
    # No duplicate ever reached the SMTP server.
    per_id = Counter(smtp_sink.ids())
    assert per_id
    assert max(per_id.values()) == 1, per_id.most_common(3)
    states = await _states(db_engine, keys)
    ids = {k: make_message_id(k, "reply", "mailroom.test") for k in keys}
    sent = [k for k, s in states.items() if s == "sent"]
    uncertain = [k for k, s in states.items() if s == "uncertain"]
    assert len(sent) + len(uncertain) == BATCH
    # Every message marked sent was received exactly once.
    assert all(per_id[ids[k]] == 1 for k in sent)
    # Everything that reached the server is accounted for.
    assert set(per_id) <= set(ids.values())
    if uncertain:
        alerts = await bus.collect(
            ALERTS,
            lambda ev: {a.message_key for a in ev if isinstance(a, AlertEvent)} >= set(uncertain),
        )
        assert all(
            a.kind == "send_uncertain"
            for a in alerts
            if isinstance(a, AlertEvent) and a.message_key in uncertain
        )
        flagged = await bus.collect(
            STATUS,
            lambda ev: (
                {
                    e.message_key
                    for e in ev
                    if isinstance(e, StatusChanged) and e.status is TaskStatus.UNCERTAIN
                }
                >= set(uncertain)
            ),
        )
        assert flagged
    print(f"sent={len(sent)} uncertain={len(uncertain)} smtp={len(per_id)}")
