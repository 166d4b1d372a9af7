"""Projector cost: CPU and wall time per event from status events to PostgreSQL rows.

Applies the events of N emails (inbound, processing, replied, sent: four each, shuffled
across emails as the topics interleave them) to a fresh migrated database with the
sender's :class:`Projector`, twice: one event per transaction (``apply``), and one
transaction per poll of ``--batch`` records (``apply_batch``, what the projector runner
does). Prints events/s, the projector's own CPU per event (this process) and
PostgreSQL's (its backends' CPU from /proc, when readable).

    .venv/bin/python bench/projector_bench.py [--emails 1000] [--batch 500]

Needs the local stack's PostgreSQL (deploy/local/stack.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sender_bench import PG_ADMIN, admin_sql  # bench/ is on sys.path when run as a script

from mailroom_common.config import DatabaseSettings
from mailroom_common.db.migrate import upgrade
from mailroom_common.db.session import make_engine
from mailroom_common.events import InboundEmail, Route, StatusChanged, TaskStatus
from mailroom_sender.projector import Projector

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def lifecycle(key: str) -> list[Any]:
    at = [T0 + timedelta(seconds=s) for s in range(4)]
    return [
        InboundEmail(
            message_key=key,
            thread_key=f"t-{key}",
            mailbox="shop@mailroom.test",
            from_address="ana@cliente.test",
            subject="¿Envíos?",
            occurred_at=at[0],
            received_at=at[0],
            producer="ingest",
        ),
        StatusChanged(
            message_key=key, status=TaskStatus.PROCESSING, occurred_at=at[1], producer="responder"
        ),
        StatusChanged(
            message_key=key,
            status=TaskStatus.REPLIED,
            route=Route.FAQ,
            intent="shipping",
            reply_text="Enviamos a todo el país.",
            occurred_at=at[2],
            producer="responder",
        ),
        StatusChanged(
            message_key=key,
            status=TaskStatus.SENT,
            reason="accepted: 250 OK",
            occurred_at=at[3],
            producer="sender",
        ),
    ]


def postgres_cpu_s() -> float | None:
    """CPU seconds of every postgres process this user can read (None: not readable)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, seen = 0.0, False
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "postgres":
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        seen = True
    return total if seen else None


async def one_run(
    projector: Projector, events: list[Any], batch: int
) -> tuple[float, float, float | None]:
    pg0, cpu0, t0 = postgres_cpu_s(), time.process_time(), time.perf_counter()
    if batch == 1:
        for ev in events:
            await projector.apply(ev)
    else:
        for start in range(0, len(events), batch):
            chunk = events[start : start + batch]
            await projector.apply_batch(chunk, [None] * len(chunk))
    wall, cpu, pg1 = time.perf_counter() - t0, time.process_time() - cpu0, postgres_cpu_s()
    return wall, cpu, (pg1 - pg0) if pg0 is not None and pg1 is not None else None


async def main_async(emails: int, batch: int) -> None:
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    name = f"mailroom_projbench_{uuid.uuid4().hex[:8]}"
    await admin_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        await asyncio.to_thread(upgrade, "head", f"{url}/{name}")
        engine = make_engine(DatabaseSettings(url=SecretStr(f"{url}/{name}")))
        rng = random.Random(7)
        print(f"projector: {emails} emails × 4 events, fresh database {name}")
        for label, size in (("one event per transaction", 1), (f"batches of {batch}", batch)):
            tag = uuid.uuid4().hex[:6]
            events = [e for n in range(emails) for e in lifecycle(f"<{tag}-{n}@bench>")]
            # Interleave emails as a poll over several partitions does; keep each email's order.
            rng.shuffle(events)
            events.sort(key=lambda e: e.occurred_at)
            projector = Projector(engine, consumer_name=f"bench-{tag}")
            wall, cpu, pg = await one_run(projector, events, size)
            n = len(events)
            pg_part = f", PostgreSQL {pg / n * 1000:.2f} ms/event" if pg is not None else ""
            print(
                f"  {label:>26}: {n / wall:7.0f} events/s, projector CPU "
                f"{cpu / n * 1000:.2f} ms/event{pg_part} ({wall:.1f} s)"
            )
        await engine.dispose()
    finally:
        await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main_async(args.emails, args.batch))


if __name__ == "__main__":
    main()
