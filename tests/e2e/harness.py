"""The whole mailroom system as real subprocesses, isolated per test.

One :class:`System` is the four services (``python -m mailroom_ingest``, ``mailroom_responder
worker``, ``mailroom_sender``, ``mailroom_admin_api``) plus, private to the test, an offline
LLM and an SMTP sink on free ports, a Kafka topic prefix (hence consumer groups, Faust app id
and changelogs of its own), an IMAP folder in ``sales@mailroom.test`` and an ingest checkpoint
name. Every process is started in its own session and stopped by PID: SIGTERM, then SIGKILL.

Conditions are polled from PostgreSQL (``email_tasks``, ``send_ledger``) and from the sink's
JSONL index, always with a deadline.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import email
import email.policy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from imap_tools import AND, H, MailBoxUnencrypted
from pydantic import SecretStr

from mailroom_common.catalogue_import import import_rows, read_catalogue
from mailroom_common.config import DatabaseSettings, KafkaSettings
from mailroom_common.db.migrate import upgrade
from mailroom_common.db.session import make_engine
from mailroom_common.kafka import make_admin
from mailroom_common.topics import REGISTRY, ensure_topics

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
STACK_SH = REPO / "deploy" / "local" / "stack.sh"
DEMO_CATALOGUE = REPO / "deploy" / "local" / "demo" / "catalogue.csv"

IMAP_HOST = "127.0.0.1"
IMAP_PORT = 21143
SALES_USER = "sales@mailroom.test"
SALES_PASSWORD = "sales-secret"
SHOP_ADDRESS = "shop@mailroom.test"
SHOP_DOMAIN = "mailroom.test"
ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"

# Statuses after which nothing more happens to a task without an operator.
FINAL = frozenset(
    {
        "sent",
        "ignored",
        "rejected",
        "handoff",
        "human_owned",
        "drafted",
        "shadowed",
        "discarded",
        "dead_letter",
        "send_failed",
        "uncertain",
    }
)
# Send-ledger states that are settled (no SMTP transaction still to come).
LEDGER_SETTLED = frozenset({"sent", "failed", "uncertain", "suppressed"})

# Environment prefixes of mailroom and OpenTelemetry: the test decides all of them.
_OWNED_PREFIXES = (
    "INGEST_",
    "RESPONDER_",
    "SENDER_",
    "ADMIN_",
    "GROQ_",
    "KAFKA_",
    "DATABASE_",
    "MAILROOM_",
    "OTEL_",
)
_LEGACY = ("IMAP_SERVER", "IMAP_PORT", "EMAIL_SENDER", "EMAIL_APP_PASSWORD", "GROQ_MODEL")

# Every process started here, so an aborted run never leaves one behind.
_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


async def wait_until(
    check: Callable[[], Awaitable[Any]],
    timeout: float,
    what: str,
    every: float = 0.25,
    describe: Callable[[], str] | None = None,
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            extra = f"\n{describe()}" if describe is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        await asyncio.sleep(every)


def base_env() -> dict[str, str]:
    """The pytest process's environment without anything mailroom or OTel reads."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_OWNED_PREFIXES) and k not in _LEGACY
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def pg_dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# ------------------------------------------------------------------------------ processes


class Proc:
    """One subprocess with a log file; health is an async predicate."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        log_path: Path,
        cwd: Path,
        healthy: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self._healthy = healthy
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        assert not self.alive(), f"{self.name} already running"
        self.cwd.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n==== start {self.starts + 1} {time.strftime('%X')} ====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a signal to pytest's group never reaches it
            )
        _LIVE.add(self.proc)
        self.starts += 1

    def _reap(self, timeout: float) -> None:
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        finally:
            if self.proc.poll() is not None:
                _LIVE.discard(self.proc)

    def kill(self) -> None:
        """SIGKILL by PID: no shutdown code runs."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.kills += 1
        if self.proc is not None:
            self._reap(15)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``."""
        if not self.alive():
            if self.proc is not None:
                self._reap(5)
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self._reap(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self._reap(15)

    async def healthy(self) -> bool:
        if not self.alive():
            return False
        if self._healthy is None:
            return True
        try:
            return await self._healthy()
        except (httpx.HTTPError, OSError, ValueError, KeyError):
            return False

    async def wait_healthy(self, timeout: float = 90.0) -> None:
        async def check() -> bool:
            if self.proc is None or self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.tail()}")
            return await self.healthy()

        await wait_until(check, timeout, f"{self.name} healthy", 0.3, self.tail)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


async def _http_ok(url: str, predicate: Callable[[httpx.Response], bool] | None = None) -> bool:
    async with httpx.AsyncClient(timeout=2.0) as http:
        response = await http.get(url)
    if predicate is not None:
        return predicate(response)
    return response.status_code == 200


# ------------------------------------------------------------------------------ offline LLM


class OfflineLlm:
    """A private ``mailroom_devstack.llm_server``; scripted through ``/_admin/config``."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc = Proc(
            "llm",
            [
                PYTHON,
                "-m",
                "mailroom_devstack.llm_server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "WARNING",
            ],
            base_env(),
            log_path=workdir / "llm.log",
            cwd=workdir,
            healthy=lambda: _http_ok(f"{self.base_url}/healthz"),
        )

    async def start(self) -> None:
        self.proc.start()
        await self.proc.wait_healthy(30)

    async def configure(self, **patch: Any) -> None:
        async with httpx.AsyncClient(timeout=5.0) as http:
            response = await http.post(f"{self.base_url}/_admin/config", json=patch)
        response.raise_for_status()

    async def reset(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as http:
            response = await http.post(f"{self.base_url}/_admin/reset")
        response.raise_for_status()

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5.0) as http:
            response = await http.get(f"{self.base_url}/_admin/stats")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def stop(self) -> None:
        self.proc.stop(10)


# ------------------------------------------------------------------------------ SMTP sink


class SmtpSink:
    """A private ``mailroom_devstack.smtp_sink``; what it accepted is in its JSONL index."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir / "outbox"
        self.faults = workdir / "smtp-faults.json"
        self.proc = Proc(
            "smtp",
            [
                PYTHON,
                "-m",
                "mailroom_devstack.smtp_sink",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--faults",
                str(self.faults),
                "--log-level",
                "WARNING",
            ],
            base_env(),
            log_path=workdir / "smtp.log",
            cwd=workdir,
            healthy=self._accepting,
        )

    async def _accepting(self) -> bool:
        return port_open(self.port)

    async def start(self) -> None:
        self.proc.start()
        await self.proc.wait_healthy(30)

    def entries(self) -> list[dict[str, Any]]:
        """Every message accepted so far (a torn last line is left for the next read)."""
        path = self.dir / "index.jsonl"
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            return []
        out: list[dict[str, Any]] = []
        for line in text.splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
        return out

    def raw(self, entry: dict[str, Any]) -> bytes:
        return (self.dir / entry["file"]).read_bytes()

    def stop(self) -> None:
        self.proc.stop(10)


# ------------------------------------------------------------------------------ IMAP folder


def customer_mail(
    *,
    message_id: str,
    from_addr: str,
    subject: str,
    body: str,
    to: str = SALES_USER,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """An RFC 5322 customer email (plain text, UTF-8)."""
    msg = EmailMessage()
    msg["From"] = from_addr
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join(references) or in_reply_to
    for name, value in headers:
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def in_folder(folder: str, message_id: str) -> list[tuple[EmailMessage, tuple[str, ...], bytes]]:
    """The messages of ``folder`` with this Message-ID: parsed, their flags, their bytes."""
    with MailBoxUnencrypted(IMAP_HOST, IMAP_PORT, timeout=30).login(
        SALES_USER, SALES_PASSWORD, initial_folder=folder
    ) as box:
        found = []
        for msg in box.fetch(AND(header=H("Message-ID", message_id)), mark_seen=False):
            raw = msg.obj.as_bytes()
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append((parsed, tuple(msg.flags), raw))
        return found


def sender_mailbox_env(drafts: str, sent: str) -> dict[str, str]:
    """The sender's IMAP login to the sales mailbox, with these Drafts and Sent folders."""
    return {
        "SENDER_SENT_CHECK_HOST": IMAP_HOST,
        "SENDER_SENT_CHECK_PORT": str(IMAP_PORT),
        "SENDER_SENT_CHECK_SECURITY": "plain",
        "SENDER_SENT_CHECK_USER": SALES_USER,
        "SENDER_SENT_CHECK_PASSWORD": SALES_PASSWORD,
        "SENDER_SENT_CHECK_TIMEOUT_S": "10",
        "SENDER_DRAFTS_FOLDER": drafts,
        "SENDER_SENT_CHECK_FOLDER": sent,
        "SENDER_SENT_WATCH_INTERVAL_S": "0.5",
    }


class ImapFolder:
    """A private folder of the sales mailbox; mails are appended over one connection."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._box: Any = None

    def _connect(self) -> Any:
        return MailBoxUnencrypted(IMAP_HOST, IMAP_PORT, timeout=30).login(
            SALES_USER, SALES_PASSWORD, initial_folder=None
        )

    def create(self) -> None:
        self._box = self._connect()
        self._box.folder.create(self.name)

    def append(self, raws: Iterable[bytes]) -> int:
        """Append every mail; one reconnect per failure, at most 3 in a row."""
        count = 0
        for raw in raws:
            for attempt in range(3):
                try:
                    if self._box is None:
                        self._box = self._connect()
                    self._box.append(raw, self.name, dt=None)
                    break
                except Exception:
                    with contextlib.suppress(Exception):
                        self._box.logout()
                    self._box = None
                    if attempt == 2:
                        raise
                    time.sleep(0.3)
            count += 1
        return count

    def delete(self) -> None:
        for _ in range(3):
            try:
                with contextlib.suppress(Exception):
                    if self._box is not None:
                        self._box.logout()
                self._box = self._connect()
                self._box.folder.delete(self.name)
                break
            except Exception:
                self._box = None
                time.sleep(0.3)
        with contextlib.suppress(Exception):
            if self._box is not None:
                self._box.logout()
        self._box = None


# ------------------------------------------------------------------------------ Kafka, DB


async def create_topics(bootstrap: str, prefix: str) -> None:
    settings = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    admin = make_admin(settings, "e2e-tests")
    await admin.start()
    try:
        await ensure_topics(admin, REGISTRY, name_prefix=prefix)
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete every topic under ``prefix``: the registry's and Faust's changelogs."""
    settings = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    admin = make_admin(settings, "e2e-tests")
    with contextlib.suppress(Exception):
        await asyncio.wait_for(admin.start(), 15)
        try:
            names = [t for t in await admin.list_topics() if t.startswith(prefix)]
            if names:
                await admin.delete_topics(names)
        finally:
            await admin.close()


async def import_demo_catalogue(database_url: str) -> int:
    engine = make_engine(DatabaseSettings(url=SecretStr(database_url)))
    try:
        async with engine.begin() as conn:
            return await import_rows(conn, read_catalogue(DEMO_CATALOGUE))
    finally:
        await engine.dispose()


class Db:
    """Read-only queries over what the projector and the sender wrote."""

    def __init__(self, database_url: str) -> None:
        self.dsn = pg_dsn(database_url)

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn, timeout=10)
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args, timeout=30)
            return rows
        finally:
            await conn.close()

    async def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in await self._fetch(sql, *args)]

    async def task(self, key: str) -> dict[str, Any]:
        """One task's status, status reason and reply ({} while it has none)."""
        found = await self.rows(
            "SELECT status, status_reason, reply_text FROM email_tasks WHERE message_key = $1",
            key,
        )
        return found[0] if found else {}

    async def wait_status(
        self, keys: Sequence[str], status: str, timeout: float = 90, logs: Any = None
    ) -> list[dict[str, Any]]:
        """Wait until every task of ``keys`` is in ``status``; their rows."""

        async def check() -> list[dict[str, Any]] | None:
            found = [await self.task(k) for k in keys]
            return found if all(t.get("status") == status for t in found) else None

        done: list[dict[str, Any]] = await wait_until(
            check, timeout, f"{len(keys)} tasks {status}", 0.3, logs
        )
        return done

    async def tasks(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = await self._fetch(
            "SELECT id, message_key, status, route, intent, attempts, trace_id, last_error "
            "FROM email_tasks WHERE message_key = ANY($1::text[])",
            list(keys),
        )
        return {r["message_key"]: dict(r) for r in rows}

    async def ledger(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT message_key, kind, state, smtp_message_id, recipient, attempts "
            "FROM send_ledger WHERE message_key = ANY($1::text[])",
            list(keys),
        )
        return [dict(r) for r in rows]

    async def status_changes(self, key: str) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT status, reason, service, trace_id FROM task_status_changes "
            "WHERE message_key = $1 ORDER BY id",
            key,
        )
        return [dict(r) for r in rows]

    async def dead_letters(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT message_key, stage, error_class FROM dead_letters "
            "WHERE message_key = ANY($1::text[])",
            list(keys),
        )
        return [dict(r) for r in rows]

    async def wait_final(
        self, keys: Sequence[str], timeout: float, *, settled_ledger: bool = True
    ) -> dict[str, dict[str, Any]]:
        """Wait until every key has a task in a final status and no send is still due."""
        latest: dict[str, dict[str, Any]] = {}

        async def done() -> bool:
            nonlocal latest
            with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
                latest = await self.tasks(keys)
                if len(latest) < len(keys) or any(
                    t["status"] not in FINAL for t in latest.values()
                ):
                    return False
                if settled_ledger:
                    rows = await self.ledger(keys)
                    return all(r["state"] in LEDGER_SETTLED for r in rows)
                return True
            return False

        def describe() -> str:
            counts: dict[str, int] = {}
            for t in latest.values():
                counts[t["status"]] = counts.get(t["status"], 0) + 1
            missing = len(keys) - len(latest)
            return f"{len(keys)} emails: {missing} without a task, statuses {counts}"

        await wait_until(done, timeout, f"{len(keys)} tasks final", 0.5, describe)
        return latest


# ------------------------------------------------------------------------------ the system


@dataclass
class SystemConfig:
    workdir: Path
    kafka_bootstrap: str
    topic_prefix: str
    database_url: str
    folder: str
    llm_url: str
    smtp_port: int
    otlp_endpoint: str | None = None
    # Extra environment: "common" for every service, or a service name.
    env: dict[str, dict[str, str]] = field(default_factory=dict)


SERVICES = ("sender", "responder", "ingest", "admin-api")


class System:
    """The four services of one test, configured from a :class:`SystemConfig`."""

    def __init__(self, cfg: SystemConfig) -> None:
        self.cfg = cfg
        self.ports = {name: free_port() for name in SERVICES}
        self.admin_url = f"http://127.0.0.1:{self.ports['admin-api']}"
        self.services: dict[str, Proc] = {}
        for name in SERVICES:
            self.services[name] = self._make(name)

    def env_for(self, name: str) -> dict[str, str]:
        cfg = self.cfg
        prefix = cfg.topic_prefix
        env = base_env()
        env.update(
            {
                "MAILROOM_ENVIRONMENT": "test",
                "MAILROOM_LOG_FORMAT": "json",
                "MAILROOM_LOG_LEVEL": "INFO",
                "MAILROOM_SHOP_NAME": "Tienda Mailroom",
                "MAILROOM_SHOP_DOMAIN": SHOP_DOMAIN,
                "MAILROOM_SHOP_ADDRESS": SHOP_ADDRESS,
                "KAFKA_BOOTSTRAP_SERVERS": cfg.kafka_bootstrap,
                "KAFKA_TOPIC_PREFIX": prefix,
                "KAFKA_REQUEST_TIMEOUT_MS": "15000",
                "DATABASE_URL": cfg.database_url,
                "DATABASE_POOL_SIZE": "4",
                "OTEL_SERVICE_NAME": f"mailroom-{name}",
            }
        )
        if cfg.otlp_endpoint:
            env.update(
                {
                    "OTEL_SDK_DISABLED": "false",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": cfg.otlp_endpoint,
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                    "OTEL_BSP_SCHEDULE_DELAY": "200",
                    "OTEL_METRIC_EXPORT_INTERVAL": "60000",
                }
            )
        else:
            env["OTEL_SDK_DISABLED"] = "true"
        port = str(self.ports[name])
        if name == "ingest":
            env.update(
                {
                    "INGEST_IMAP_HOST": IMAP_HOST,
                    "INGEST_IMAP_PORT": str(IMAP_PORT),
                    "INGEST_IMAP_SECURITY": "starttls",
                    "INGEST_TLS_VERIFY": "false",
                    "INGEST_IMAP_USER": SALES_USER,
                    "INGEST_IMAP_PASSWORD": SALES_PASSWORD,
                    "INGEST_IMAP_FOLDER": cfg.folder,
                    "INGEST_MAILBOX_NAME": f"e2e-{cfg.folder}",
                    "INGEST_HEALTH_PORT": port,
                    "INGEST_BACKOFF_BASE_S": "0.2",
                    "INGEST_BACKOFF_MAX_S": "2",
                    "INGEST_CONNECT_TIMEOUT_S": "10",
                    "INGEST_IDLE_RENEW_S": "60",
                }
            )
        elif name == "responder":
            env.update(
                {
                    "RESPONDER_APP_ID": "mailroom-responder",  # KAFKA_TOPIC_PREFIX prefixes it
                    "RESPONDER_WEB_PORT": port,
                    "RESPONDER_SESSION_TIMEOUT_S": "6",
                    "RESPONDER_HEARTBEAT_INTERVAL_S": "1",
                    "RESPONDER_COMMIT_INTERVAL_S": "0.5",
                    "RESPONDER_RETRY_DELAYS_S": "[1, 2, 2, 2]",
                    "RESPONDER_BREAKER_COOLDOWN_S": "3",
                    "RESPONDER_BREAKER_PROBE_TIMEOUT_S": "10",
                    "RESPONDER_RATE_LIMIT_REQUESTS": "1000",
                    "RESPONDER_HOLD_CHECK_S": "0.1",
                    "RESPONDER_CATALOGUE_REFRESH_S": "30",
                    "GROQ_API_KEY": "offline-e2e-key",
                    "GROQ_BASE_URL": cfg.llm_url,
                    "GROQ_TIMEOUT_S": "5",
                }
            )
        elif name == "sender":
            env.update(
                {
                    "SENDER_SMTP_HOST": "127.0.0.1",
                    "SENDER_SMTP_PORT": str(cfg.smtp_port),
                    "SENDER_SMTP_SECURITY": "plain",
                    "SENDER_FROM_ADDRESS": SHOP_ADDRESS,
                    "SENDER_DISPLAY_NAME": "Tienda Mailroom",
                    "SENDER_HEALTH_HOST": "127.0.0.1",
                    "SENDER_HEALTH_PORT": port,
                    "SENDER_GROUP_ID": f"{prefix}sender",
                    "SENDER_PROJECTOR_GROUP_ID": f"{prefix}projector",
                    # Every e2e system shares the run's database: a sweep would republish other
                    # tests' leftover tasks into this system. The sweep has its own tests.
                    "SENDER_REDRIVE_ENABLED": "false",
                    "SENDER_SESSION_TIMEOUT_MS": "6000",
                    "SENDER_RETRY_BASE_S": "0.5",
                    "SENDER_RETRY_MAX_S": "5",
                    "SENDER_SMTP_CONNECT_TIMEOUT_S": "5",
                    "SENDER_SMTP_COMMAND_TIMEOUT_S": "10",
                }
            )
        elif name == "admin-api":
            env.update(
                {
                    "ADMIN_API_TOKEN": ADMIN_TOKEN,
                    "ADMIN_HOST": "127.0.0.1",
                    "ADMIN_PORT": port,
                }
            )
        env.update(cfg.env.get("common", {}))
        env.update(cfg.env.get(name, {}))
        return env

    def _make(self, name: str) -> Proc:
        port = self.ports[name]
        argv: list[str]
        healthy: Callable[[], Awaitable[bool]]
        if name == "ingest":
            argv = [PYTHON, "-m", "mailroom_ingest"]

            def ingest_ready(r: httpx.Response) -> bool:
                return r.status_code == 200 and bool(r.json().get("ready"))

            healthy = lambda: _http_ok(f"http://127.0.0.1:{port}/readyz", ingest_ready)  # noqa: E731
        elif name == "responder":
            argv = [PYTHON, "-m", "mailroom_responder", "worker", "-l", "info"]

            def worker_ready(r: httpx.Response) -> bool:
                body = r.json()
                return bool(body.get("assigned")) and not body.get("rebalancing")

            healthy = lambda: _http_ok(f"http://127.0.0.1:{port}/healthz", worker_ready)  # noqa: E731
        elif name == "sender":
            argv = [PYTHON, "-m", "mailroom_sender"]
            healthy = lambda: _http_ok(f"http://127.0.0.1:{port}/readyz")  # noqa: E731
        else:
            argv = [PYTHON, "-m", "mailroom_admin_api"]
            healthy = lambda: _http_ok(f"http://127.0.0.1:{port}/readyz")  # noqa: E731
        workdir = self.cfg.workdir / name  # Faust keeps its data directory in the cwd
        return Proc(
            name,
            argv,
            self.env_for(name),
            log_path=self.cfg.workdir / f"{name}.log",
            cwd=workdir,
            healthy=healthy,
        )

    def __getitem__(self, name: str) -> Proc:
        return self.services[name]

    async def start(self, names: Sequence[str] = SERVICES, timeout: float = 120.0) -> None:
        for name in names:
            self.services[name].start()
        await asyncio.gather(*(self.services[n].wait_healthy(timeout) for n in names))

    async def restart(self, name: str, *, kill: bool = True, timeout: float = 120.0) -> None:
        proc = self.services[name]
        if kill:
            proc.kill()
        else:
            proc.stop()
        proc.start()
        await proc.wait_healthy(timeout)

    def stop(self) -> None:
        # Producers first, so nothing new flows while the consumers stop.
        for name in ("ingest", "admin-api", "responder", "sender"):
            with contextlib.suppress(Exception):
                self.services[name].stop(20)

    def logs(self, lines: int = 25) -> str:
        return "\n".join(f"--- {n}\n{p.tail(lines)}" for n, p in self.services.items())

    async def reprocess(self, task_id: str, key: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        if key:
            headers["Idempotency-Key"] = key
        async with httpx.AsyncClient(timeout=15.0) as http:
            response = await http.post(
                f"{self.admin_url}/v1/tasks/{task_id}/reprocess", headers=headers
            )
        assert response.status_code == 202, response.text
        data: dict[str, Any] = response.json()
        return data


@dataclass
class E2E:
    """One running system and everything private to it."""

    system: System
    llm: OfflineLlm
    sink: SmtpSink
    folder: ImapFolder
    db: Db
    prefix: str
    tag: str

    def address(self, local: str) -> str:
        """A customer address unique to this system."""
        return f"{local}.{self.tag}@example.com"

    def message_id(self, name: str) -> str:
        return f"<e2e-{self.tag}-{name}@customer.example>"

    async def drop(self, raws: Sequence[bytes]) -> None:
        await asyncio.to_thread(self.folder.append, raws)


MakeSystem = Callable[..., Awaitable[E2E]]


# ------------------------------------------------------------------------------ private stack


class PrivateStack:
    """Kafka and PostgreSQL of one test, via stack.sh with its own state dir and ports.

    The shared stack on the fixed ports is never touched: ``MAILROOM_STACK_DIR`` and
    ``MAILROOM_STACK_PORT_SHIFT`` give this one its own pids, data and ports, so it can be
    stopped and started at will.
    """

    def __init__(self) -> None:
        # PostgreSQL runs as an unprivileged user that must reach the state directory;
        # pytest's tmp dirs (0700) are not reachable, /var/tmp is.
        self.dir = Path(tempfile.mkdtemp(prefix="mailroom-e2e-stack-", dir="/var/tmp"))
        self.dir.chmod(0o755)
        self.shift = self._free_shift()
        self.kafka_port = 29092 + self.shift
        self.pg_port = 25432 + self.shift
        self.bootstrap = f"127.0.0.1:{self.kafka_port}"
        self.database = f"mailroom_e2e_{uuid.uuid4().hex[:8]}"
        self.database_url = (
            f"postgresql+asyncpg://mailroom:mailroom@127.0.0.1:{self.pg_port}/{self.database}"
        )
        self._link_kafka_jars()

    @staticmethod
    def _free_shift() -> int:
        for shift in range(3000, 6000, 137):
            ports = [29092 + shift, 29093 + shift, 25432 + shift]
            if not any(port_open(p) for p in ports):
                return shift
        raise AssertionError("no free port range for a private stack")

    def _link_kafka_jars(self) -> None:
        # The broker jars of the shared stack (fetched once with Maven) serve here too.
        shared = (REPO / ".stack").resolve() / "kafka" / "libs"
        if shared.is_dir():
            (self.dir / "kafka").mkdir(parents=True, exist_ok=True)
            (self.dir / "kafka" / "libs").symlink_to(shared, target_is_directory=True)

    def _stack(self, action: str, *components: str, timeout: float = 150.0) -> str:
        env = {
            **base_env(),
            "MAILROOM_STACK_DIR": str(self.dir),
            "MAILROOM_STACK_PORT_SHIFT": str(self.shift),
        }
        result = subprocess.run(
            ["bash", str(STACK_SH), action, *components],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"stack.sh {action} {' '.join(components)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    async def start(self, *components: str) -> str:
        return await asyncio.to_thread(self._stack, "start", *components)

    async def stop(self, *components: str) -> str:
        return await asyncio.to_thread(self._stack, "stop", *components)

    async def create_database(self) -> None:
        conn = await asyncpg.connect(
            f"postgresql://mailroom:mailroom@127.0.0.1:{self.pg_port}/mailroom", timeout=10
        )
        try:
            await conn.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await conn.close()
        await asyncio.to_thread(upgrade, "head", self.database_url)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._stack("stop", "kafka", "postgres")
        shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------------------------------ sink analysis

_ID_RE = re.compile(r"<([^<>]+)>")


def bare_id(value: str) -> str:
    m = _ID_RE.search(value or "")
    return m.group(1) if m else (value or "").strip()


class SentRelay:
    """Files every message the sink accepted into an IMAP folder, as Gmail files sent mail.

    With it the sender's crash rule may treat the folder as authoritative
    (``SENDER_SENT_CHECK_AUTHORITATIVE=true``): a message left in ``sending`` by a SIGKILL is
    either in the folder (it was accepted: mark it sent) or not (send it again).
    """

    def __init__(self, sink: SmtpSink, folder: ImapFolder) -> None:
        self.sink = sink
        self.folder = folder
        self.filed = 0

    def sender_env(self) -> dict[str, str]:
        return {
            "SENDER_SENT_CHECK_ENABLED": "true",
            "SENDER_SENT_CHECK_AUTHORITATIVE": "true",
            "SENDER_SENT_CHECK_HOST": IMAP_HOST,
            "SENDER_SENT_CHECK_PORT": str(IMAP_PORT),
            "SENDER_SENT_CHECK_SECURITY": "plain",
            "SENDER_SENT_CHECK_USER": SALES_USER,
            "SENDER_SENT_CHECK_PASSWORD": SALES_PASSWORD,
            "SENDER_SENT_CHECK_FOLDER": self.folder.name,
            "SENDER_SENT_CHECK_TIMEOUT_S": "10",
        }

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            entries = self.sink.entries()
            fresh = entries[self.filed :]
            if fresh:
                raws = [self.sink.raw(entry) for entry in fresh]
                await asyncio.to_thread(self.folder.append, raws)
                self.filed += len(fresh)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.05)
