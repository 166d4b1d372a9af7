"""End-to-end benchmark: IMAP delivery → ingest → responder → sender → SMTP acceptance.

Starts the whole system as real subprocesses, the way ``make up`` does (settings from
deploy/local/local.env), but isolated from anything else on the local stack:

* its own topic prefix (``KAFKA_TOPIC_PREFIX``; topics created with ``ensure_topics``),
* its own PostgreSQL database (migrated, demo catalogue loaded, dropped afterwards),
* its own IMAP folder in ``sales@mailroom.test`` (deleted afterwards),
* a private offline LLM (300 ms latency, no rate limit) and a private SMTP sink, on free ports,
* the four services (ingest, responder, sender, admin-api) with their logs in
  ``bench/results/e2e-<timestamp>-logs/``.

Then it delivers customer emails to the folder and measures, per email, the time from the
delivery (the IMAP APPEND or COPY returned) to the sink storing our reply (the reply's
``In-Reply-To`` is the customer's Message-ID), split into hops by the producer timestamps on
mail.inbound and mail.outbound. Cases:

* ``faq``    N shipping/payment/returns questions arriving at once (throughput),
* ``product`` N price/stock questions at once, answered from catalogue templates (p50 < 1 s),
* ``llm``    N questions the responder answers with the LLM (general and product questions),
* ``steady`` FAQ questions arriving at a steady rate (p99 latency target).

    .venv/bin/python bench/e2e_bench.py                       # all cases, ~2 minutes
    .venv/bin/python bench/e2e_bench.py --cases faq --faq 3000
    .venv/bin/python bench/e2e_bench.py --set SENDER_CONCURRENCY=8   # try a setting

Writes ``bench/results/e2e-<timestamp>.json`` and ``.png`` (see bench/README.md). Needs the
local stack running (``bash deploy/local/stack.sh start``); it never stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import queue
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import SecretStr

from mailroom_common.catalogue_import import import_rows, read_catalogue
from mailroom_common.config import DatabaseSettings, KafkaSettings
from mailroom_common.db.migrate import upgrade
from mailroom_common.db.session import make_engine
from mailroom_common.events import InboundEmail, OutboundEmail, decode_event
from mailroom_common.kafka import connection_kwargs, make_admin
from mailroom_common.topics import INBOUND, OUTBOUND, REGISTRY, ensure_topics
from mailroom_devstack.mail_drop import SALES_PASSWORD, SALES_USER, build_message, open_mailbox

ROOT = Path(__file__).resolve().parents[1]
LOCAL_ENV = ROOT / "deploy" / "local" / "local.env"
CATALOGUE = ROOT / "deploy" / "local" / "demo" / "catalogue.csv"
RESULTS = ROOT / "bench" / "results"
STACK_RUN = ROOT / ".stack" / "run"
PG_ADMIN = os.environ.get(
    "MAILROOM_TEST_PG_DSN", "postgresql://mailroom:mailroom@127.0.0.1:25432/mailroom"
)
KAFKA = os.environ.get("MAILROOM_TEST_KAFKA", "127.0.0.1:29092")
IMAP_HOST, IMAP_PORT = "127.0.0.1", 21143
LLM_LATENCY_MS = 300
# Variables of the services that must come from this script, never from the caller's shell.
OWN_PREFIXES: tuple[str, ...] = ("INGEST_", "RESPONDER_", "SENDER_", "ADMIN_", "KAFKA_")
OWN_PREFIXES += ("DATABASE_", "GROQ_", "MAILROOM_", "OTEL_", "EMAIL_", "IMAP_")

# CPU that belongs to the system under test; the rest is the load generator (bench driver,
# Dovecot) and the fakes (SMTP sink, offline LLM) that a real deployment does not run.
SYSTEM_PROCESSES = frozenset(
    {"ingest", "responder", "sender", "admin", "stack:kafka", "stack:postgres"}
)

# (subject, body). Every one routes to the FAQ (shipping, payments, returns): no LLM call.
FAQ_TEXTS: tuple[tuple[str, str], ...] = (
    ("Envíos", "Hola, ¿hacen envíos a Córdoba?"),
    ("Consulta", "Buenas tardes, ¿hacen envíos a Rosario? Gracias."),
    ("Envío al interior", "¿Cuánto tarda el envío a Mendoza?"),
    ("Envío a Salta", "Hola, quería saber si hacen envíos a Salta y cuánto demora."),
    ("Pregunta", "¿Despachan por correo a Neuquén?"),
    ("Shipping", "Hi, do you ship to Córdoba? Thanks"),
    ("Medios de pago", "Hola, ¿qué medios de pago aceptan? ¿Se puede pagar en cuotas?"),
    ("Cambios", "Si el regalo no le queda bien, ¿cuál es la política de cambios?"),
)
# (subject, body). Price and stock questions the responder answers from the FAQ file's
# catalogue templates with live figures: no LLM call, so the LLM's rate limit never holds
# them back.
PRODUCT_TEXTS: tuple[tuple[str, str], ...] = (
    ("Precio", "Hola, ¿cuánto sale el jean mom?"),
    ("Stock", "¿Tienen la remera básica negra en talle M?"),
    ("Campera", "Hola! ¿Hay stock de la campera puffer verde en L?"),
    ("Price", "Hi, how much is the denim jacket?"),
    ("Zapatillas", "¿Las zapatillas urbanas blancas en 40 tienen?"),
    ("Buzo", "Hola, ¿qué precio tiene el buzo canguro gris?"),
    ("Sizes", "Do you have the Camisa oxford in white, size XL?"),
    ("Malla", "Hola, ¿venden mallas enteras?"),
)
# (subject, body). General questions (route llm) and product questions without a figure
# (route catalogue: the LLM answers with a catalogue excerpt). Both make one LLM call.
LLM_TEXTS: tuple[tuple[str, str], ...] = (
    ("Horarios", "Hola, ¿abren los domingos? Quería pasar por el local."),
    ("Mayoristas", "¿Hacen descuentos por compras mayoristas para revender?"),
    ("Question", "Hi, do you offer gift vouchers for a birthday present?"),
    ("Remera", "Hola, ¿la remera básica de algodón es fresca para el verano?"),
    ("Vestido", "Busco un vestido para un casamiento de noche, ¿qué me recomiendan?"),
    ("Jacket", "How warm is the puffer jacket? I live somewhere cold."),
)


# --------------------------------------------------------------------------- pure helpers


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def parse_env_file(text: str) -> dict[str, str]:
    """``KEY=value`` lines of a shell env file (quotes removed, comments skipped)."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        parts = shlex.split(value, comments=True)
        env[key.strip()] = parts[0] if parts else ""
    return env


def bare_id(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def per_second(times: Iterable[float], origin: float) -> list[int]:
    """Counts per whole second since ``origin``."""
    counts: Counter[int] = Counter(int(t - origin) for t in times)
    if not counts:
        return []
    return [counts.get(s, 0) for s in range(max(counts) + 1)]


@dataclass(frozen=True)
class CaseSpec:
    name: str
    count: int
    texts: tuple[tuple[str, str], ...]
    rate: float | None  # emails/s for a steady arrival; None = a burst
    timeout_s: float
    burst: str = "append"  # how a burst arrives: "append" (parallel APPENDs) or "copy"


@dataclass
class Sample:
    message_id: str
    delivered: float  # wall clock (s) when the APPEND returned
    accepted: float | None = None  # wall clock (s) when the sink stored our reply
    published: float | None = None  # ingest's record on mail.inbound (producer timestamp)
    answered: float | None = None  # responder's reply on mail.outbound (producer timestamp)
    route: str | None = None
    status: str | None = None

    @property
    def latency(self) -> float | None:
        return None if self.accepted is None else self.accepted - self.delivered


@dataclass
class CaseResult:
    name: str
    count: int
    rate_target: float | None
    started: float
    samples: list[Sample]
    cpu_percent: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    machine_busy_percent: float = 0.0

    def cpu_per_email(self) -> dict[str, Any]:
        """CPU milliseconds per replied email, and the rate all CPUs could sustain if
        mailroom (services + Kafka + PostgreSQL) had the machine to itself."""
        replied = sum(1 for s in self.samples if s.accepted is not None)
        if not replied:
            return {}
        per = {k: round(1000 * v / replied, 2) for k, v in self.cpu_seconds.items()}
        system = sum(v for k, v in per.items() if k in SYSTEM_PROCESSES)
        cores = os.cpu_count() or 1
        return {
            "ms_per_email": per,
            "system_ms_per_email": round(system, 2),
            "cpu_bound_ceiling_per_s": round(cores * 1000 / system, 1) if system else None,
        }

    def latencies(self) -> list[float]:
        return [s.latency for s in self.samples if s.latency is not None]

    def stages(self) -> dict[str, dict[str, float]]:
        """Where the time goes: IMAP → mail.inbound (ingest), mail.inbound → mail.outbound
        (responder), mail.outbound → SMTP accepted (sender)."""
        spans: dict[str, list[float]] = {"ingest": [], "responder": [], "sender": []}
        for s in self.samples:
            if s.published is not None:
                spans["ingest"].append(s.published - s.delivered)
                if s.answered is not None:
                    spans["responder"].append(s.answered - s.published)
            if s.answered is not None and s.accepted is not None:
                spans["sender"].append(s.accepted - s.answered)
        first_in = min((s.delivered for s in self.samples), default=self.started)
        # When each hop had handled the last email: the first hop that finishes late is
        # the one that limits the rate (no hop can finish before the hop upstream of it).
        last = {
            "ingest": max((s.published or 0.0 for s in self.samples), default=0.0),
            "responder": max((s.answered or 0.0 for s in self.samples), default=0.0),
            "sender": max((s.accepted or 0.0 for s in self.samples), default=0.0),
        }
        return {
            name: {
                "p50": percentile(v, 50),
                "p99": percentile(v, 99),
                "all_done_after_s": max(last[name] - first_in, 0.0),
            }
            for name, v in spans.items()
        }

    def summary(self) -> dict[str, Any]:
        lat = self.latencies()
        done = [s for s in self.samples if s.accepted is not None]
        first_in = min((s.delivered for s in self.samples), default=self.started)
        last_in = max((s.delivered for s in self.samples), default=self.started)
        last_out = max((s.accepted for s in done if s.accepted is not None), default=first_in)
        span = max(last_out - first_in, 1e-6)
        out_bins = per_second((s.accepted for s in done if s.accepted is not None), first_in)
        return {
            "emails": self.count,
            "replied": len(done),
            "missing": self.count - len(done),
            # None: every email arrived at the same instant (one IMAP COPY).
            "delivery_rate_per_s": (
                (self.count - 1) / (last_in - first_in) if last_in > first_in else None
            ),
            "throughput_per_s": len(done) / span,
            "first_delivery_to_last_reply_s": span,
            "peak_1s_throughput_per_s": max(out_bins, default=0),
            "latency_s": {
                "p50": percentile(lat, 50),
                "p90": percentile(lat, 90),
                "p99": percentile(lat, 99),
                "max": max(lat, default=math.nan),
                "mean": sum(lat) / len(lat) if lat else math.nan,
            },
            "stages_s": self.stages(),
            "routes": dict(Counter(f"{s.route}/{s.status}" for s in self.samples)),
            "cpu_percent_of_one_core": self.cpu_percent,
            "cpu": self.cpu_per_email(),
            "machine_busy_percent": self.machine_busy_percent,
        }


# --------------------------------------------------------------------------- CPU accounting


class CpuMeter:
    """CPU seconds of process trees (a service, PostgreSQL with its backends, …)."""

    def __init__(self, roots: Mapping[str, int]) -> None:
        self.roots = dict(roots)
        self.tick = float(os.sysconf("SC_CLK_TCK"))

    @staticmethod
    def _stat(pid: int) -> tuple[int, float] | None:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        fields = raw.rpartition(")")[2].split()  # the command name may hold spaces
        # ppid; utime + stime, plus cutime + cstime: children that exited and were reaped
        # (Dovecot's per-connection imap processes, PostgreSQL backends) still count.
        return int(fields[1]), sum(float(f) for f in fields[11:15])

    def snapshot(self) -> dict[str, float]:
        stats: dict[int, tuple[int, float]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (st := self._stat(int(entry.name))) is not None:
                stats[int(entry.name)] = st
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        out: dict[str, float] = {}
        roots = set(self.roots.values())
        for name, root in self.roots.items():
            total, todo = 0.0, [root]
            while todo:
                pid = todo.pop()
                if pid in stats:
                    total += stats[pid][1]
                    # The driver's children are the services: each is its own root.
                    todo.extend(c for c in children.get(pid, ()) if c not in roots)
            out[name] = total / self.tick
        out["(machine busy)"] = self._machine_busy()
        out["(wall)"] = time.monotonic()
        return out

    def _machine_busy(self) -> float:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        values = [float(v) for v in first]
        idle = values[3] + values[4]  # idle + iowait
        return (sum(values[:8]) - idle) / self.tick


async def background_busy_percent(seconds: float = 2.0) -> float:
    """How busy the machine is before we start anything (other work on a shared box)."""
    meter = CpuMeter({})
    before = meter.snapshot()
    await asyncio.sleep(seconds)
    return cpu_percent(before, meter.snapshot())[1]


def cpu_percent(
    before: Mapping[str, float], after: Mapping[str, float]
) -> tuple[dict[str, float], float]:
    """CPU use between two snapshots: per process tree (% of one core), machine (% of all)."""
    wall = max(after["(wall)"] - before["(wall)"], 1e-6)
    per = {
        name: round(100 * (after[name] - before.get(name, 0.0)) / wall, 1)
        for name in after
        if not name.startswith("(")
    }
    cores = os.cpu_count() or 1
    busy = 100 * (after["(machine busy)"] - before["(machine busy)"]) / wall / cores
    return per, round(busy, 1)


# --------------------------------------------------------------------------- IMAP delivery


def make_mail(case: str, index: int, tag: str, text: tuple[str, str]) -> tuple[str, bytes]:
    """One customer email with a unique sender (the sender's loop guards cap replies per
    address and per thread) and a Message-ID we can find again in the reply."""
    subject, body = text
    message_id = f"<e2e-{tag}-{case}-{index}@customer.example>"
    msg = build_message(
        from_addr=f"Cliente {index} <c{index}-{case}-{tag}@customer.example>",
        to=SALES_USER,
        subject=subject,
        body=body,
        message_id=message_id,
    )
    return message_id, msg.as_bytes()


def _login() -> Any:
    box = open_mailbox(IMAP_HOST, IMAP_PORT, "plain", timeout=30)
    return box.login(SALES_USER, SALES_PASSWORD, initial_folder=None)


def deliver_burst(
    mails: Sequence[tuple[str, bytes]],
    folder: str,
    connections: int,
    abort: threading.Event,
    clock_start: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    """APPEND every mail as fast as the server takes them, over several connections."""
    todo: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
    for mail in mails:
        todo.put(mail)
    done: dict[str, float] = {}
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with _login() as box:
                while not abort.is_set():
                    try:
                        message_id, raw = todo.get_nowait()
                    except queue.Empty:
                        return
                    box.append(raw, folder, dt=None)
                    done[message_id] = time.time()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    clock_start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"IMAP delivery failed: {errors[0]!r}")
    return done


def deliver_paced(
    mails: Sequence[tuple[str, bytes]],
    folder: str,
    rate: float,
    abort: threading.Event,
    clock_start: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    """APPEND mail i at start + i/rate (a fixed schedule, so a slow APPEND is caught up)."""
    done: dict[str, float] = {}
    with _login() as box:
        clock_start()
        start = time.monotonic()
        for i, (message_id, raw) in enumerate(mails):
            if abort.wait(max(0.0, start + i / rate - time.monotonic())):
                break
            box.append(raw, folder, dt=None)
            done[message_id] = time.time()
    return done


def deliver_copy(
    mails: Sequence[tuple[str, bytes]],
    folder: str,
    connections: int,
    abort: threading.Event,
    clock_start: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    """Stage every mail in a side folder, then COPY them all into ``folder`` with one
    command: the burst arrives at once, and the load generator's own APPEND work (and
    Dovecot's) is done before the clock starts instead of competing for the same CPUs."""
    staging = f"{folder}-staging"
    with _login() as box:
        box.folder.create(staging)
        try:
            deliver_burst(mails, staging, connections, abort)
            box.folder.set(staging)
            clock_start()
            typ, data = box.client.uid("COPY", "1:*", folder)
            if typ != "OK":
                raise RuntimeError(f"IMAP COPY failed: {typ} {data!r}")
            at = time.time()
        finally:
            box.folder.set("INBOX")
            box.folder.delete(staging)
    return {message_id: at for message_id, _ in mails}


# --------------------------------------------------------------------------- SMTP sink index


class SinkIndex:
    """Follows the sink's index.jsonl: customer Message-ID → time our reply was stored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.accepted: dict[str, float] = {}

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        end = chunk.rfind(b"\n") + 1  # only whole lines; the rest is read next time
        self.offset += end
        for line in chunk[:end].splitlines():
            entry = json.loads(line)
            key = bare_id(entry.get("in_reply_to") or "")
            if key:
                stored = datetime.fromisoformat(entry["time"]).timestamp()
                self.accepted.setdefault(key, stored)

    async def wait_for(
        self, keys: set[str], timeout_s: float, meter: CpuMeter, stall_s: float = 30.0
    ) -> dict[str, float]:
        """Wait until every key has a reply, ``timeout_s`` passed, or nothing new arrived
        for ``stall_s`` (a stuck email should not hold the run for minutes). Returns the CPU
        snapshot taken when the last new reply was seen, so idle waiting is not counted."""
        deadline = time.monotonic() + timeout_s
        last_progress, seen = time.monotonic(), 0
        snapshot = meter.snapshot()
        while True:
            self.poll()
            done = len(keys & self.accepted.keys())
            now = time.monotonic()
            if done > seen:
                if now - last_progress >= 0.5 or done == len(keys):
                    snapshot = meter.snapshot()
                seen, last_progress = done, now
            if done == len(keys):
                return snapshot
            if now > deadline or now - last_progress > stall_s:
                break
            await asyncio.sleep(0.05)
        print(
            f"  warning: {len(keys) - done} of {len(keys)} replies missing"
            f" (nothing new for {now - last_progress:.0f} s)"
        )
        return snapshot


# --------------------------------------------------------------------------- Kafka hops


async def hop_times(
    kafka: KafkaSettings, keys: set[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Producer timestamps of each email's record on mail.inbound and of its reply on
    mail.outbound (everything from the beginning up to the current end of both topics)."""
    consumer = AIOKafkaConsumer(**connection_kwargs(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [
            TopicPartition(kafka.topic(spec), p)
            for spec in (INBOUND, OUTBOUND)
            for p in range(spec.partitions)
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        inbound: dict[str, float] = {}
        outbound: dict[str, float] = {}
        todo = {tp for tp in parts if ends[tp] > 0}
        deadline = time.monotonic() + 30  # a trailing control record would never arrive
        while todo and time.monotonic() < deadline:
            batches = await consumer.getmany(*todo, timeout_ms=1000, max_records=10_000)
            for tp, records in batches.items():
                for record in records:
                    event = decode_event(record.value)
                    when = record.timestamp / 1000
                    if isinstance(event, InboundEmail) and event.message_key in keys:
                        inbound.setdefault(event.message_key, when)
                    elif isinstance(event, OutboundEmail) and event.message_key in keys:
                        outbound.setdefault(event.message_key, when)
                if records and records[-1].offset + 1 >= ends[tp]:
                    todo.discard(tp)
            todo = {tp for tp in todo if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return inbound, outbound


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _open_log(path: Path) -> IO[bytes]:
    return path.open("ab")


@dataclass
class Child:
    name: str
    proc: asyncio.subprocess.Process
    log: Path

    def alive(self) -> bool:
        return self.proc.returncode is None


async def spawn(
    name: str, args: Sequence[str], env: Mapping[str, str], cwd: Path, logs: Path
) -> Child:
    log = logs / f"{name}.log"
    out = _open_log(log)
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()  # the child has its own copy of the descriptor
    return Child(name, proc, log)


async def stop_child(child: Child, grace_s: float = 20.0) -> None:
    """SIGTERM this PID, SIGKILL after ``grace_s``."""
    if not child.alive():
        return
    with contextlib.suppress(ProcessLookupError):
        child.proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(child.proc.wait(), grace_s)
    except TimeoutError:
        print(f"  {child.name} (pid {child.proc.pid}) ignored SIGTERM; killing it")
        with contextlib.suppress(ProcessLookupError):
            child.proc.kill()
        await child.proc.wait()


async def wait_http(child: Child, url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(
                    f"{child.name} exited ({child.proc.returncode}); see {child.log}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.25)
    raise RuntimeError(
        f"{child.name} not healthy at {url} after {timeout_s:.0f} s; see {child.log}"
    )


def _stack_pid(name: str) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((STACK_RUN / f"{name}.pid").read_text().strip())
    return None


# --------------------------------------------------------------------------- the rig


@dataclass
class Rig:
    tag: str
    kafka: KafkaSettings
    folder: str
    db_url: str
    dsn: str
    work: Path
    logs: Path
    sink: SinkIndex
    abort: threading.Event
    children: dict[str, Child] = field(default_factory=dict)

    def cpu_roots(self) -> dict[str, int]:
        roots = {name: c.proc.pid for name, c in self.children.items()}
        for name in ("kafka", "postgres", "imap"):
            pid = _stack_pid(name)
            if pid is not None:
                roots[f"stack:{name}"] = pid
        roots["bench driver"] = os.getpid()
        return roots

    async def routes(
        self, keys: Sequence[str], settle_s: float = 15.0
    ) -> dict[str, tuple[str | None, str | None]]:
        """Route and status of each email from the projector's ``email_tasks``, once every
        row has left the in-flight states (the projector runs a little behind the SMTP send)."""
        in_flight = ("received", "processing", "retrying", "replied")
        deadline = time.monotonic() + settle_s
        conn = await asyncpg.connect(self.dsn)
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT message_key, route, status FROM email_tasks"
                    " WHERE message_key = ANY($1)",
                    list(keys),
                )
                settled = len(rows) == len(keys) and all(r["status"] not in in_flight for r in rows)
                if settled or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.25)
        finally:
            await conn.close()
        return {r["message_key"]: (r["route"], r["status"]) for r in rows}


async def _create_database(stack: contextlib.AsyncExitStack, name: str) -> tuple[str, str]:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()

    async def drop() -> None:
        try:
            conn = await asyncpg.connect(PG_ADMIN)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"  cleanup: could not drop database {name}: {exc!r}")

    stack.push_async_callback(drop)
    dsn = f"{PG_ADMIN.rpartition('/')[0]}/{name}"
    db_url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    await asyncio.to_thread(upgrade, "head", db_url)
    engine = make_engine(DatabaseSettings(url=SecretStr(db_url)))
    try:
        async with engine.begin() as conn_:
            loaded = await import_rows(conn_, read_catalogue(CATALOGUE))
    finally:
        await engine.dispose()
    print(f"  database {name}: migrated, {loaded} catalogue variants")
    return dsn, db_url


async def _create_topics(stack: contextlib.AsyncExitStack, prefix: str) -> None:
    admin = make_admin(KafkaSettings(bootstrap_servers=KAFKA, topic_prefix=prefix), "e2e-bench")
    await admin.start()

    async def delete() -> None:
        try:
            # Faust's changelog topics carry the prefix too (it prefixes the app id).
            names = [t for t in await admin.list_topics() if t.startswith(prefix)]
            if names:
                await admin.delete_topics(names)
        except Exception as exc:  # report and go on cleaning up
            print(f"  cleanup: could not delete topics {prefix}*: {exc!r}")
        finally:
            await admin.close()

    stack.push_async_callback(delete)
    await ensure_topics(admin, REGISTRY, name_prefix=prefix)
    print(f"  topics: {len(REGISTRY)} under prefix {prefix}")


def _create_folder(stack: contextlib.AsyncExitStack, folder: str) -> None:
    with _login() as box:
        box.folder.create(folder)

    def delete() -> None:
        try:
            with _login() as box:
                box.folder.delete(folder)
        except Exception as exc:  # report and go on cleaning up
            print(f"  cleanup: could not delete IMAP folder {folder}: {exc!r}")

    stack.callback(delete)


def service_env(
    prefix: str, db_url: str, folder: str, ports: Mapping[str, int], extra: Mapping[str, str]
) -> dict[str, str]:
    """deploy/local/local.env, pointed at this run's topics, database, folder and ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    env.update(parse_env_file(LOCAL_ENV.read_text(encoding="utf-8")))
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            "KAFKA_TOPIC_PREFIX": prefix,
            "DATABASE_URL": db_url,
            "INGEST_IMAP_HOST": IMAP_HOST,
            "INGEST_IMAP_PORT": str(IMAP_PORT),
            "INGEST_IMAP_USER": SALES_USER,
            "INGEST_IMAP_PASSWORD": SALES_PASSWORD,
            "INGEST_IMAP_FOLDER": folder,
            "INGEST_HEALTH_PORT": str(ports["ingest"]),
            "RESPONDER_WEB_PORT": str(ports["responder"]),
            # No limiter of ours in the way: the offline LLM has no limit either.
            "RESPONDER_RATE_LIMIT_REQUESTS": "1000000",
            "GROQ_BASE_URL": f"http://127.0.0.1:{ports['llm']}",
            "GROQ_API_KEY": "offline-llm",
            "SENDER_SMTP_HOST": "127.0.0.1",
            "SENDER_SMTP_PORT": str(ports["smtp"]),
            "SENDER_HEALTH_PORT": str(ports["sender"]),
            # The sender's groups are not prefixed by KAFKA_TOPIC_PREFIX: a shared group
            # name would put us in other runs' rebalances.
            "SENDER_GROUP_ID": f"{prefix}mailroom-sender",
            "SENDER_PROJECTOR_GROUP_ID": f"{prefix}mailroom-projector",
            "ADMIN_PORT": str(ports["admin"]),
            "ADMIN_API_TOKEN": secrets.token_hex(24),
        }
    )
    env.update(extra)
    return env


async def _start_fakes(
    stack: contextlib.AsyncExitStack, rig: Rig, ports: Mapping[str, int]
) -> None:
    outbox = rig.work / "outbox"
    loopback = ["--host", "127.0.0.1", "--log-level", "WARNING"]
    sink_args = ["--port", str(ports["smtp"]), "--dir", str(outbox)]
    sink_args += ["--faults", str(rig.work / "faults.json")]  # absent: accept everything
    sink = await spawn(
        "smtp-sink",
        [sys.executable, "-m", "mailroom_devstack.smtp_sink", *loopback, *sink_args],
        os.environ,
        rig.work,
        rig.logs,
    )
    stack.push_async_callback(stop_child, sink)
    llm_args = ["--port", str(ports["llm"])]
    llm = await spawn(
        "llm",
        [sys.executable, "-m", "mailroom_devstack.llm_server", *loopback, *llm_args],
        os.environ,
        rig.work,
        rig.logs,
    )
    stack.push_async_callback(stop_child, llm)
    rig.children.update({"smtp-sink": sink, "llm": llm})
    base = f"http://127.0.0.1:{ports['llm']}"
    await wait_http(llm, f"{base}/healthz", 30)
    async with httpx.AsyncClient(timeout=5.0) as http:
        config = {"latency_ms": LLM_LATENCY_MS, "rpm": None, "tpm": None}
        (await http.post(f"{base}/_admin/config", json=config)).raise_for_status()
    await _wait_port(sink, ports["smtp"])
    rig.sink = SinkIndex(outbox / "index.jsonl")


async def _wait_port(child: Child, port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited; see {child.log}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{child.name} not listening on {port}")


SERVICES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # name, module + args, health path (on the port of the same name)
    ("sender", ("mailroom_sender",), "/readyz"),
    ("responder", ("mailroom_responder", "worker"), "/healthz"),
    ("ingest", ("mailroom_ingest",), "/readyz"),
    ("admin", ("mailroom_admin_api",), "/healthz"),
)


async def _start_services(
    stack: contextlib.AsyncExitStack,
    rig: Rig,
    env: Mapping[str, str],
    ports: Mapping[str, int],
    profile: Path | None = None,
) -> None:
    for name, module, _ in SERVICES:
        # --profile: each service under cProfile, written when it exits on SIGTERM.
        wrap = ["-m", "cProfile", "-o", str(profile / f"{name}.prof")] if profile else []
        child = await spawn(
            name,
            [sys.executable, *wrap, "-m", *module],
            {**env, "OTEL_SERVICE_NAME": name},
            rig.work,  # Faust keeps its data directory in the working directory
            rig.logs,
        )
        stack.push_async_callback(stop_child, child)
        rig.children[name] = child
    for name, _, path in SERVICES:
        await wait_http(rig.children[name], f"http://127.0.0.1:{ports[name]}{path}")
        print(f"  {name} ready (pid {rig.children[name].proc.pid})")


async def build_rig(
    stack: contextlib.AsyncExitStack,
    extra_env: Mapping[str, str],
    stamp: str,
    profile: Path | None = None,
) -> Rig:
    tag = uuid.uuid4().hex[:8]
    prefix = f"e2e{tag}."
    work = Path(tempfile.mkdtemp(prefix=f"e2e-bench-{tag}-"))
    stack.callback(shutil.rmtree, work, True)
    logs = RESULTS / f"e2e-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    abort = threading.Event()
    print(f"== set-up (tag {tag}; logs in {logs.relative_to(ROOT)})")
    dsn, db_url = await _create_database(stack, f"mailroom_e2e_{tag}")
    await _create_topics(stack, prefix)
    folder = f"e2e-bench-{tag}"
    await asyncio.to_thread(_create_folder, stack, folder)
    print(f"  IMAP folder {SALES_USER}/{folder}")
    kafka = KafkaSettings(bootstrap_servers=KAFKA, topic_prefix=prefix)
    rig = Rig(tag, kafka, folder, db_url, dsn, work, logs, SinkIndex(work / "none"), abort)
    names = ("ingest", "responder", "sender", "admin", "llm", "smtp")
    ports = {name: free_port() for name in names}
    await _start_fakes(stack, rig, ports)
    print(f"  offline LLM :{ports['llm']} ({LLM_LATENCY_MS} ms, no limit), sink :{ports['smtp']}")
    env = service_env(prefix, db_url, folder, ports, extra_env)
    await _start_services(stack, rig, env, ports, profile)
    # Callbacks run in reverse: delivery threads are told to stop, then the services, the
    # fakes, the folder, the topics and the database go.
    stack.callback(abort.set)
    return rig


# --------------------------------------------------------------------------- the cases


async def run_case(
    rig: Rig, spec: CaseSpec, connections: int, *, quiet: bool = False
) -> CaseResult:
    mails = [
        make_mail(spec.name, i, rig.tag, spec.texts[i % len(spec.texts)]) for i in range(spec.count)
    ]
    meter = CpuMeter(rig.cpu_roots())
    clock: dict[str, Any] = {}

    def clock_start() -> None:  # right before the first email reaches the watched folder
        clock.update(cpu=meter.snapshot(), wall=time.time())

    if spec.rate is None:
        deliver = deliver_copy if spec.burst == "copy" else deliver_burst
        delivered = await asyncio.to_thread(
            deliver, mails, rig.folder, connections, rig.abort, clock_start
        )
    else:
        delivered = await asyncio.to_thread(
            deliver_paced, mails, rig.folder, spec.rate, rig.abort, clock_start
        )
    cpu_before: dict[str, float] = clock["cpu"]
    started: float = clock["wall"]
    keys = {bare_id(mid) for mid in delivered}
    cpu_after = await rig.sink.wait_for(keys, spec.timeout_s, meter)
    routes = await rig.routes(sorted(keys))
    inbound, outbound = await hop_times(rig.kafka, keys)
    samples = []
    for mid, at in sorted(delivered.items(), key=lambda item: item[1]):
        key = bare_id(mid)
        route, status = routes.get(key, (None, None))
        accepted = rig.sink.accepted.get(key)
        samples.append(
            Sample(key, at, accepted, inbound.get(key), outbound.get(key), route, status)
        )
    result = CaseResult(spec.name, len(samples), spec.rate, started, samples)
    result.cpu_percent, result.machine_busy_percent = cpu_percent(cpu_before, cpu_after)
    result.cpu_seconds = {
        k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after if not k.startswith("(")
    }
    if not quiet:
        print_case(result)
    return result


def print_case(result: CaseResult) -> None:
    s = result.summary()
    lat = s["latency_s"]
    print(
        f"\n== {result.name}: {s['replied']}/{s['emails']} replied"
        + (
            f" (delivered at {s['delivery_rate_per_s']:.0f}/s"
            if s["delivery_rate_per_s"]
            else " (all delivered at once by one IMAP COPY"
        )
        + (f", target {result.rate_target:g}/s" if result.rate_target else "")
        + ")"
    )
    print(
        f"  throughput {s['throughput_per_s']:.1f} emails/s end to end"
        f" (peak 1 s: {s['peak_1s_throughput_per_s']}/s;"
        f" first delivery → last reply {s['first_delivery_to_last_reply_s']:.2f} s)"
    )
    print(
        f"  delivery → SMTP  p50 {lat['p50']:.3f} s  p90 {lat['p90']:.3f} s"
        f"  p99 {lat['p99']:.3f} s  max {lat['max']:.3f} s"
    )
    stages = s["stages_s"].items()
    hops = "  ".join(f"{name} {v['p50']:.3f}/{v['p99']:.3f} s" for name, v in stages)
    done = "  ".join(f"{name} {v['all_done_after_s']:.2f} s" for name, v in stages)
    print(f"  per hop p50/p99: {hops}")
    print(f"  last email through each hop after: {done}")
    print(f"  route/status: {s['routes']}")
    busiest = sorted(result.cpu_percent.items(), key=lambda kv: -kv[1])
    cpu = ", ".join(f"{name} {pct:.0f}%" for name, pct in busiest if pct >= 1)
    print(f"  CPU (% of one core): {cpu}; machine {result.machine_busy_percent:.0f}% busy")
    per = result.cpu_per_email()
    # Only a saturating burst says what the CPUs can do; at low rates idle work dominates.
    if result.name == "faq" and per and per["cpu_bound_ceiling_per_s"]:
        print(
            f"  CPU per email: {per['system_ms_per_email']:.1f} ms in mailroom + Kafka +"
            f" PostgreSQL → at most {per['cpu_bound_ceiling_per_s']:.0f} emails/s on"
            f" {os.cpu_count()} CPUs with nothing else running"
        )


# --------------------------------------------------------------------------- output


def write_json(path: Path, results: Sequence[CaseResult], meta: Mapping[str, Any]) -> None:
    doc = {
        **meta,
        "cases": {
            r.name: {
                "summary": r.summary(),
                "rate_target_per_s": r.rate_target,
                "started_unix": r.started,
                "samples": [_relative(asdict(s), r.started) for s in r.samples],
            }
            for r in results
        },
    }
    path.write_text(json.dumps(_finite(doc), indent=1, allow_nan=False, default=str) + "\n")


def _relative(sample: dict[str, Any], origin: float) -> dict[str, Any]:
    """Times in seconds since the case started (``started_unix`` gives the origin)."""
    for name in ("delivered", "accepted", "published", "answered"):
        if sample[name] is not None:
            sample[name] = round(sample[name] - origin, 4)
    return sample


def load_results(path: Path) -> list[CaseResult]:
    """Cases back from a JSON file written by :func:`write_json` (for ``--replot``)."""
    doc = json.loads(path.read_text())
    results = []
    for name, case in doc["cases"].items():
        origin = case["started_unix"]
        samples = []
        for raw in case["samples"]:
            for key in ("delivered", "accepted", "published", "answered"):
                if raw[key] is not None:
                    raw[key] += origin
            samples.append(Sample(**raw))
        results.append(CaseResult(name, len(samples), case["rate_target_per_s"], origin, samples))
    return results


def _finite(doc: Any) -> Any:
    """JSON has no NaN: percentiles of an empty case become null."""
    if isinstance(doc, float):
        return None if math.isnan(doc) else doc
    if isinstance(doc, dict):
        return {k: _finite(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_finite(v) for v in doc]
    return doc


def rate_series(times: Iterable[float], origin: float, width: float) -> list[float]:
    """Events per second in consecutive bins of ``width`` seconds from ``origin``."""
    counts: Counter[int] = Counter(int((t - origin) / width) for t in times)
    if not counts:
        return []
    return [counts.get(b, 0) / width for b in range(max(counts) + 1)]


def bin_width(span_s: float, events: int) -> float:
    """A round bin width: at most ~40 bins, and ~5 events per bin so a steady rate does
    not alias into alternating bars."""
    rate = events / max(span_s, 1e-6)
    for width in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0):
        if span_s / width <= 40 and width * rate >= 5:
            return width
    return 30.0


def throughput_panel(ax: Any, r: CaseResult) -> None:
    """Replies per second (left axis) and cumulative delivered/replied (right axis): the
    gap between the two cumulative lines is the backlog inside the system."""
    origin = min((s.delivered for s in r.samples), default=r.started)
    delivered = sorted(s.delivered - origin for s in r.samples)
    replied = sorted(s.accepted - origin for s in r.samples if s.accepted is not None)
    width = bin_width(max(replied + delivered, default=1.0), len(replied))
    outs = rate_series(replied, 0.0, width)
    if outs:
        ax.stairs(
            outs,
            [b * width for b in range(len(outs) + 1)],
            fill=True,
            alpha=0.35,
            color="tab:orange",
            label="replies accepted by SMTP per s",
        )
    if r.rate_target:
        ax.axhline(r.rate_target, color="tab:blue", linestyle=":", label="arrival rate")
    ax.set(xlabel="seconds since first delivery", ylabel=f"replies/s ({width:g} s bins)")
    ax.set_title(f"{r.name}: throughput over time")
    ax.grid(True, alpha=0.3)
    total = ax.twinx()
    total.plot(
        delivered,
        range(1, len(delivered) + 1),
        color="tab:blue",
        linestyle="--",
        drawstyle="steps-post",
        label="delivered (cumulative)",
    )
    total.plot(
        replied,
        range(1, len(replied) + 1),
        color="tab:red",
        drawstyle="steps-post",
        label="replied (cumulative)",
    )
    total.set_ylabel("emails (cumulative)")
    total.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()
    more = total.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=7, loc="upper left")


def draw_plot(path: Path, results: Sequence[CaseResult], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    n = max(1, len(results))
    cols = math.lcm(2, n)
    fig = plt.figure(figsize=(15, 9), constrained_layout=True)
    grid = fig.add_gridspec(2, cols)
    cdf = fig.add_subplot(grid[0, : cols // 2])
    hist = fig.add_subplot(grid[0, cols // 2 :])
    every = [x for r in results for x in r.latencies() if x > 0]
    lo, hi = (min(every), max(every)) if every else (0.01, 1.0)
    edges = [lo * (hi / lo) ** (i / 60) for i in range(61)] if hi > lo else [lo, lo * 1.01]
    for r in results:
        lat = sorted(r.latencies())
        if not lat:
            continue
        ys = [(i + 1) / len(lat) for i in range(len(lat))]
        label = f"{r.name} (p50 {percentile(lat, 50):.2f} s, p99 {percentile(lat, 99):.2f} s)"
        cdf.step(lat, ys, where="post", label=label)
        hist.hist(lat, bins=edges, alpha=0.55, label=f"{r.name} ({len(lat)} emails)")
    for ax in (cdf, hist):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("delivery → SMTP acceptance (s, log scale)")
        ax.axvline(2.0, color="grey", linestyle=":", linewidth=1)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    cdf.set(ylabel="share of emails", title="Latency CDF (dotted: 2 s)")
    hist.set(ylabel="emails per bin", title="Latency distribution")
    for i, r in enumerate(results):
        width_cols = cols // n
        ax = fig.add_subplot(grid[1, i * width_cols : (i + 1) * width_cols])
        throughput_panel(ax, r)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main


def case_specs(args: argparse.Namespace) -> list[CaseSpec]:
    specs = {
        "faq": CaseSpec("faq", args.faq, FAQ_TEXTS, None, 120 + args.faq / 20, args.faq_burst),
        "llm": CaseSpec("llm", args.llm, LLM_TEXTS, None, 120 + args.llm * 2),
        "product": CaseSpec("product", args.product, PRODUCT_TEXTS, None, 120 + args.product / 5),
        "steady": CaseSpec(
            "steady",
            round(args.steady_rate * args.steady_seconds),
            FAQ_TEXTS,
            args.steady_rate,
            120 + args.steady_seconds,
        ),
    }
    return [specs[name] for name in args.cases if specs[name].count > 0]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=["faq", "product", "llm", "steady"],
        default=["faq", "product", "llm", "steady"],
    )
    parser.add_argument(
        "--product", type=int, default=100, help="emails in the product (templates) case"
    )
    parser.add_argument("--faq", type=int, default=1000, help="emails in the FAQ case")
    parser.add_argument(
        "--faq-burst",
        choices=["copy", "append"],
        default="copy",
        help="FAQ burst arrival: staged then one IMAP COPY, or parallel APPENDs",
    )
    parser.add_argument("--llm", type=int, default=30, help="emails in the LLM case")
    parser.add_argument("--steady-rate", type=float, default=20.0, help="emails/s (steady)")
    parser.add_argument("--steady-seconds", type=float, default=30.0, help="duration (steady)")
    parser.add_argument(
        "--connections", type=int, default=4, help="parallel IMAP connections for bursts"
    )
    parser.add_argument(
        "--replot", type=Path, default=None, metavar="JSON", help="only redraw a result's PNG"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each service under cProfile; print where its CPU went (slows them down)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="extra environment for the services, e.g. SENDER_CONCURRENCY=8 (repeatable)",
    )
    return parser.parse_args(argv)


async def warm_up(rig: Rig) -> None:
    """A few emails through every path, so start-up (group joins, Faust recovery, the
    first SMTP connection) is not measured."""
    print("== warm-up")
    t0 = time.monotonic()
    for spec in (
        CaseSpec("warmfaq", 4, FAQ_TEXTS, None, 180),
        CaseSpec("warmllm", 2, LLM_TEXTS, None, 180),
    ):
        result = await run_case(rig, spec, 2, quiet=True)
        if all(s.accepted is None for s in result.samples):
            raise RuntimeError(f"warm-up {spec.name}: no reply at all; logs in {rig.logs}")
    print(f"  pipeline answers ({time.monotonic() - t0:.1f} s)")


def print_profiles(folder: Path, top: int = 15) -> None:
    """The functions each profiled service spent most of its own time in."""
    import pstats  # only with --profile

    for name, _, _ in SERVICES:
        path = folder / f"{name}.prof"
        if not path.exists():
            print(f"\n== profile {name}: none written (did it exit on SIGTERM?)")
            continue
        stats = pstats.Stats(str(path))
        total = sum(row[2] for row in stats.stats.values())
        print(f"\n== profile {name}: {total:.1f} s of own time in all; top {top} by own time")
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])
        for (file, line, func), (_cc, calls, own, cum, _callers) in rows[:top]:
            where = f"{Path(file).name}:{line}({func})"
            print(f"  {own / total:6.1%} own {own:7.2f} s  cum {cum:7.2f} s  {calls:>9}  {where}")
    print(f"\nprofiles: {folder.relative_to(ROOT)} (python -m pstats FILE to dig in)")


async def main_async(args: argparse.Namespace) -> int:
    extra = dict(item.split("=", 1) for item in args.set)
    specs = case_specs(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results: list[CaseResult] = []
    background = await background_busy_percent()
    print(f"machine busy before start: {background:.0f}% (other work on this box)")
    async with contextlib.AsyncExitStack() as stack:
        profile = RESULTS / f"e2e-{stamp}-profiles" if args.profile else None
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
        rig = await build_rig(stack, extra, stamp, profile)
        await warm_up(rig)
        for spec in specs:
            results.append(await run_case(rig, spec, args.connections))
        print("\n== tear-down")
    if profile is not None:
        print_profiles(profile)
    command = " ".join(
        shlex.quote(a) for a in [".venv/bin/python", "bench/e2e_bench.py", *sys.argv[1:]]
    )
    meta = {
        "benchmark": "e2e",
        "started": stamp,
        "command": command,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "busy_percent_before_start": background,
        },
        "llm_latency_ms": LLM_LATENCY_MS,
        "extra_env": extra,
    }
    json_path = RESULTS / f"e2e-{stamp}.json"
    write_json(json_path, results, meta)
    png_path = json_path.with_suffix(".png")
    draw_plot(png_path, results, f"mailroom end to end — {stamp} — {os.cpu_count()} CPUs")
    print_verdict(results)
    print(f"\nresults: {json_path.relative_to(ROOT)}\nplot:    {png_path.relative_to(ROOT)}")
    return 0


def print_verdict(results: Sequence[CaseResult]) -> None:
    print("\n== aims")
    for r in results:
        s = r.summary()
        if r.name == "faq":
            ok = s["throughput_per_s"] >= 200 and s["missing"] == 0
            print(f"  FAQ ≥ 200 emails/s end to end: {s['throughput_per_s']:.0f}/s → {_ok(ok)}")
        elif r.name == "product":
            p50 = s["latency_s"]["p50"]
            ok = p50 < 1.0 and s["missing"] == 0
            print(f"  product burst answered from templates, p50 < 1 s: {p50:.3f} s → {_ok(ok)}")
        elif r.name == "steady":
            p99 = s["latency_s"]["p99"]
            ok = p99 < 2.0 and s["missing"] == 0
            print(f"  p99 < 2 s at {r.rate_target:g}/s steady: p99 {p99:.3f} s → {_ok(ok)}")
        elif r.name == "llm":
            bound = 1000 / LLM_LATENCY_MS
            print(
                f"  LLM path: {s['throughput_per_s']:.2f}/s (one provider call at a time:"
                f" bound 1/latency = {bound:.2f}/s)"
            )


def _ok(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replot is not None:
        png = args.replot.with_suffix(".png")
        draw_plot(png, load_results(args.replot), f"mailroom end to end — {args.replot.stem}")
        print(png)
        return 0

    async def runner() -> int:
        # SIGTERM unwinds like Ctrl-C: the exit stack stops every process we started.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await main_async(args)

    try:
        return asyncio.run(runner())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
