"""Console page render times with a shop-sized database (issue #15: p95 < 100 ms at 100k).

Creates a fresh migrated database, seeds ``--tasks`` email tasks over the last 30 days
(routes, statuses, decisions, three status changes each; one in twelve a hand-off whose
thread a person owns since then, one in twelve a dead letter) with set-based SQL, starts
the real admin API
(``python -m mailroom_admin_api``) on a free loopback port, signs in to the console like a
browser (sign-in form, CSRF token, session cookie) and requests every console page
``--rounds`` times after a warm-up, printing p50 / p95 / max per page (wall time of the
full HTTP response on loopback). A page that answers anything but 200 is reported, not
timed.

    .venv/bin/python bench/console_bench.py [--tasks 100000] [--rounds 40]

Needs the local stack's PostgreSQL and Kafka (deploy/local/stack.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from mailroom_common.db.migrate import upgrade

PG_ADMIN = os.environ.get(
    "MAILROOM_TEST_PG_DSN", "postgresql://mailroom:mailroom@127.0.0.1:25432/mailroom"
)
KAFKA = os.environ.get("MAILROOM_TEST_KAFKA", "127.0.0.1:29092")
TOKEN = "console-bench-token-0123456789abcdef"  # noqa: S105 - the bench's own server
REPO = Path(__file__).resolve().parents[1]

SEED = """
INSERT INTO email_tasks (id, message_key, thread_key, mailbox, from_address, subject, status,
    status_reason, route, intent, attempts, reply_text, prompt_tokens, completion_tokens,
    cost_usd, received_at, status_at,
    first_replied_at, decision_reason, confidence, created_at, updated_at)
SELECT md5('task' || g)::uuid, 'bench-' || g || '@customer.example', 'thread-' || g,
    'shop@mailroom.test', 'customer' || (g % 5000) || '@customer.example',
    (ARRAY['Envíos', 'Talle del jean', 'Cambio', '¿Tienen stock?', 'Pedido'])[1 + g % 5]
        || ' #' || g,
    (ARRAY['sent', 'sent', 'sent', 'sent', 'sent', 'sent', 'ignored', 'handoff',
           'human_owned', 'dead_letter', 'drafted', 'sent'])[1 + g % 12],
    'bench', (ARRAY['faq', 'catalogue', 'llm', 'handoff'])[1 + g % 4], 'shipping', 1,
    CASE WHEN g % 12 < 6 THEN 'Hola, enviamos a todo el país.' END,
    CASE WHEN g % 4 = 2 THEN 900 ELSE 0 END, CASE WHEN g % 4 = 2 THEN 60 ELSE 0 END,
    CASE WHEN g % 4 = 2 THEN 0.0004 ELSE 0 END,
    now() - (g % 30) * interval '1 day' - (g % 1440) * interval '1 minute',
    now() - (g % 30) * interval '1 day' - (g % 1440) * interval '1 minute' + interval '4 s',
    CASE WHEN g % 12 < 6
         THEN now() - (g % 30) * interval '1 day' - (g % 1440) * interval '1 minute'
              + interval '3 s' END,
    'keyword match', 0.8,
    now() - (g % 30) * interval '1 day' - (g % 1440) * interval '1 minute',
    now() - (g % 30) * interval '1 day' - (g % 1440) * interval '1 minute'
FROM generate_series(1, $1::int) AS g
"""
CHANGES = """
INSERT INTO task_status_changes (event_id, message_key, status, reason, service, occurred_at)
SELECT md5('change' || g || '-' || s)::uuid, 'bench-' || g || '@customer.example',
    (ARRAY['received', 'processing', 'sent'])[s], 'bench', 'bench',
    now() - (g % 30) * interval '1 day' + s * interval '1 s'
FROM generate_series(1, $1::int) AS g, generate_series(1, 3) AS s
"""
OWNERS = """
INSERT INTO thread_owners (thread_id, thread, reason, message_key, owned_since,
    last_activity_at)
SELECT '<bench-' || g || '@customer.example>', '<bench-' || g || '@customer.example>',
    'chargeback', 'bench-' || g || '@customer.example',
    now() - (g % 30) * interval '1 day', now() - (g % 30) * interval '1 day'
FROM generate_series(8, $1::int, 12) AS g
"""
DEAD = """
INSERT INTO dead_letters (id, message_key, stage, error_class, error_message, attempts,
    first_failure_at, last_failure_at, original, original_topic, created_at)
SELECT md5('dead' || g)::uuid, 'bench-' || g || '@customer.example', 'responder',
    'ProviderError', 'the provider failed 5 times', 5, now(), now(), '{}'::jsonb,
    'mail.inbound', now() - (g % 30) * interval '1 day'
FROM generate_series(10, $1::int, 12) AS g
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_admin_api(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailroom_admin_api"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def admin_sql(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(dsn: str, tasks: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        for sql in (SEED, CHANGES, OWNERS, DEAD):
            await conn.execute(sql, tasks)
        await conn.execute("VACUUM ANALYZE")  # as autovacuum leaves a settled table
    finally:
        await conn.close()
    return time.perf_counter() - started


async def sign_in(http: httpx.AsyncClient) -> None:
    form = await http.get("/console/sign-in")
    form.raise_for_status()
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if found is None:
        raise SystemExit("no CSRF token on the sign-in form")
    done = await http.post(
        "/console/sign-in",
        data={"csrf_token": found.group(1), "next": "/console", "token": TOKEN},
    )
    if done.status_code not in (200, 303) or not any("session" in c for c in http.cookies):
        raise SystemExit(f"sign-in failed: {done.status_code} {done.text[:200]}")


async def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the admin API exited with {proc.returncode}")
            try:
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the admin API did not start within 60 s")


async def measure(url: str, rounds: int, first_task: str) -> list[tuple[str, int, list[float]]]:
    pages = [
        "/console",
        "/console/person",
        "/console/drafts",
        "/console/mail",
        "/console/mail?status=handoff",
        "/console/mail?sender=customer42%40customer.example",
        f"/console/mail/{first_task}",
        "/console/dead-letters",
    ]
    out: list[tuple[str, int, list[float]]] = []
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as http:
        await sign_in(http)
        for page in pages:
            first = await http.get(page)
            if first.status_code != 200:
                out.append((page, first.status_code, []))
                continue
            for _ in range(3):  # warm-up
                await http.get(page)
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                response = await http.get(page)
                times.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            out.append((page, 200, times))
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main_async(tasks: int, rounds: int) -> None:
    name = f"mailroom_console_bench_{uuid.uuid4().hex[:8]}"
    await admin_sql(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    dsn = f"{base}/{name}"
    url_db = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    proc: subprocess.Popen[bytes] | None = None
    try:
        await asyncio.to_thread(upgrade, "head", url_db)
        took = await seed(dsn, tasks)
        print(f"seeded {tasks} tasks ({3 * tasks} status changes) in {took:.1f} s")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMIN_", "DATABASE_"))}
        env.update(
            ADMIN_API_TOKEN=TOKEN,
            ADMIN_HOST="127.0.0.1",
            ADMIN_PORT=str(port),
            DATABASE_URL=url_db,
            KAFKA_BOOTSTRAP_SERVERS=KAFKA,
            KAFKA_TOPIC_PREFIX=f"consolebench{uuid.uuid4().hex[:6]}.",
            LOG_LEVEL="WARNING",
            OTEL_SDK_DISABLED="true",
        )
        proc = start_admin_api(env)
        url = f"http://127.0.0.1:{port}"
        await wait_up(url, proc)
        first_task = str(uuid.UUID(hex=hashlib.md5(b"task1").hexdigest()))  # noqa: S324 - an id
        results = await measure(url, rounds, first_task)
        print(f"\n{'page':<58} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        worst = 0.0
        for page, status, times in results:
            if not times:
                print(f"{page:<58} {'(HTTP ' + str(status) + ')':>26}")
                continue
            p95 = p(times, 0.95)
            worst = max(worst, p95)
            print(f"{page:<58} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f}")
        print(f"\nworst p95: {worst:.1f} ms with {tasks} tasks (aim < 100 ms)")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main_async(args.tasks, args.rounds))


if __name__ == "__main__":
    main()
