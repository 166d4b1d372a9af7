"""The whole system under faults: crashes and restarts, mail loops, a provider outage.

* **chaos**: ``MAILROOM_E2E_CHAOS_EMAILS`` (default 500) emails, mostly FAQ plus handoffs,
  auto-replies and a few LLM questions, dropped while every service is SIGKILLed and
  restarted at random, and Kafka and PostgreSQL (a private stack, so the shared one is never
  disturbed) are each restarted once. In the end every email is answered, ignored, handed
  off or dead-lettered exactly once, and the SMTP sink got every expected message exactly
  once. The sink's accepted mail is filed in an IMAP "Sent" folder, as Gmail does, so the
  sender's crash rule can tell "accepted before the kill" from "never sent".
* **loop**: mailroom against a vacation auto-responder that answers whatever it receives,
  once with RFC 3834 headers (screened out at ingest) and once without (the sender's
  per-thread cap stops it).
* **outage**: the LLM answers 503 for a minute in the middle of a backlog: nothing is
  dead-lettered for the outage alone and everything is answered once it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from harness import (
    E2E,
    FINAL,
    SERVICES,
    ImapFolder,
    MakeSystem,
    PrivateStack,
    SentRelay,
    bare_id,
    customer_mail,
    import_demo_catalogue,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHAOS_EMAILS = int(os.environ.get("MAILROOM_E2E_CHAOS_EMAILS", "500"))
CHAOS_SEED = int(os.environ.get("MAILROOM_E2E_CHAOS_SEED", str(random.randrange(1 << 30))))
OUTAGE_S = float(os.environ.get("MAILROOM_E2E_OUTAGE_S", "60"))
STABLE_UNDER_SIGKILL = ("ingest", "sender", "admin-api")

FAQ_MAILS = (
    ("Envíos", "Hola, ¿hacen envíos a Rosario? ¿Cuánto tarda en llegar?"),
    ("Pagos", "Buenas, ¿qué medios de pago aceptan? ¿Se puede pagar en cuotas?"),
    ("Cambios", "Hola, ¿cuál es la política de cambios si la prenda no me queda?"),
    ("Shipping", "Hi, do you ship to Mendoza and how long does delivery take?"),
    ("Payment", "Hello, which payment methods do you accept?"),
    ("Returns", "Hi, what is your return policy for clothes that do not fit?"),
)
HANDOFF_MAILS = (
    ("Pedido roto", "Mi pedido #{n} llegó roto. Quiero hablar con una persona."),
    ("Order", "My order #{n} never arrived, I want to speak to a human."),
)
LLM_MAILS = (
    ("Jean", "¿De qué tela es el jean mom? ¿Cómo calza?"),
    ("Local", "Hola, ¿abren el local a la calle los domingos por la tarde?"),
)
IGNORED_HEADERS = (
    (("Auto-Submitted", "auto-replied"),),
    (("Precedence", "bulk"),),
    (("List-Id", "<novedades.example.com>"),),
)


@dataclass(frozen=True)
class Planned:
    kind: str  # faq | handoff | llm | ignored
    message_id: str
    address: str
    raw: bytes

    @property
    def key(self) -> str:
        return bare_id(self.message_id)


def plan_emails(e: E2E, count: int, rng: random.Random) -> list[Planned]:
    """Mostly FAQ; 6 % handoff, 6 % auto/bulk mail, 3 % LLM (small next to the limiter)."""
    kinds = ["faq"] * count
    slots = list(range(count))
    rng.shuffle(slots)
    shares = {"handoff": 0.06, "ignored": 0.06, "llm": 0.03}
    taken = 0
    for kind, share in shares.items():
        n = max(1, round(count * share))
        for i in slots[taken : taken + n]:
            kinds[i] = kind
        taken += n
    out: list[Planned] = []
    for n, kind in enumerate(kinds):
        address = e.address(f"c{n}")
        message_id = e.message_id(f"m{n}")
        headers: tuple[tuple[str, str], ...] = ()
        if kind == "faq":
            subject, body = FAQ_MAILS[n % len(FAQ_MAILS)]
        elif kind == "handoff":
            subject, body = HANDOFF_MAILS[n % len(HANDOFF_MAILS)]
        elif kind == "llm":
            subject, body = LLM_MAILS[n % len(LLM_MAILS)]
        else:
            subject, body = FAQ_MAILS[n % len(FAQ_MAILS)]
            headers = IGNORED_HEADERS[n % len(IGNORED_HEADERS)]
        raw = customer_mail(
            message_id=message_id,
            from_addr=f"Cliente {n} <{address}>",
            subject=subject,
            body=body.format(n=1000 + n),
            headers=headers,
        )
        out.append(Planned(kind, message_id, address, raw))
    return out


@pytest.fixture
async def private_stack() -> AsyncIterator[PrivateStack]:
    stack = PrivateStack()
    try:
        await stack.start("kafka", "postgres")
        await stack.create_database()
        await import_demo_catalogue(stack.database_url)
        yield stack
    finally:
        await asyncio.to_thread(stack.destroy)


@pytest.fixture
async def sent_folder() -> AsyncIterator[ImapFolder]:
    folder = ImapFolder(f"Sent-e2e-{os.urandom(4).hex()}")
    await asyncio.to_thread(folder.create)
    try:
        yield folder
    finally:
        await asyncio.to_thread(folder.delete)


class Supervisor:
    """Restarts a service that died on its own, as Kubernetes would; counts those crashes."""

    def __init__(self, e: E2E) -> None:
        self.e = e
        self.crashes: Counter[str] = Counter()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for name in SERVICES:
                proc = self.e.system[name]
                if not proc.alive():
                    self.crashes[name] += 1
                    print(f"  ! {name} exited by itself; restarting\n{proc.tail(8)}")
                    proc.kill()
                    proc.start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def all_healthy(self, timeout: float = 150.0) -> None:
        async def healthy() -> bool:
            states = [await self.e.system[n].healthy() for n in SERVICES]
            return all(states)

        await wait_until(healthy, timeout, "every service healthy", 0.5, self.e.system.logs)


async def run_chaos(
    e: E2E,
    *,
    count: int,
    events: list[str],
    rng: random.Random,
    stack: PrivateStack | None,
    relay: SentRelay,
    settle_s: float,
) -> None:
    """Drop ``count`` planned emails while ``events`` happen, then check every outcome.

    An event is a service name (SIGKILL, then start again) or "kafka" / "postgres" (stop
    and start the private stack's server).
    """
    started = time.monotonic()
    emails = plan_emails(e, count, rng)
    keys = [p.key for p in emails]
    stop = asyncio.Event()
    supervisor = Supervisor(e)
    background = [
        asyncio.create_task(relay.run(stop)),
        asyncio.create_task(supervisor.run(stop)),
    ]

    async def drop_all() -> None:
        # Spread over ~60 s, about as long as the faults last, so that mail keeps arriving
        # (and is in flight in every service) while they happen.
        batches = [emails[i : i + 10] for i in range(0, len(emails), 10)]
        for batch in batches:
            await e.drop([p.raw for p in batch])
            await asyncio.sleep(60 / len(batches))

    timeline: list[str] = []
    try:
        dropping = asyncio.create_task(drop_all())
        for event in events:
            await asyncio.sleep(rng.uniform(1.0, 5.0))
            t0 = time.monotonic()
            if event in ("kafka", "postgres"):
                assert stack is not None
                await stack.stop(event)
                await asyncio.sleep(rng.uniform(0.5, 2.0))
                await stack.start(event)
            else:
                proc = e.system[event]
                proc.kill()
                proc.start()
            await supervisor.all_healthy()
            timeline.append(f"{event} {time.monotonic() - t0:.1f}s")
        await dropping
        chaos_done = time.monotonic()
        print(f"  faults: {', '.join(timeline)}; chaos phase {chaos_done - started:.0f}s")
        rows = await e.db.wait_final(keys, settle_s)
        settled = time.monotonic()
    finally:
        stop.set()
        for task in background:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    # ---- every email has exactly one task in the final state its kind calls for
    assert len(rows) == len(emails)
    expected = {"faq": {"sent"}, "llm": {"sent", "dead_letter"}, "handoff": {"handoff"}}
    expected["ignored"] = {"ignored"}
    wrong = [
        (p.kind, rows[p.key]["status"], rows[p.key]["route"])
        for p in emails
        if rows[p.key]["status"] not in expected[p.kind]
    ]
    assert not wrong, f"{len(wrong)} emails ended wrongly, e.g. {wrong[:10]}"

    # ---- the send ledger and the SMTP sink agree, with no duplicate and nothing missing
    ledger = await e.db.ledger(keys)
    states = Counter(r["state"] for r in ledger)
    assert set(states) <= {"sent"}, states
    per_email = Counter(r["message_key"] for r in ledger)
    answered = [p for p in emails if p.kind != "ignored"]
    assert all(per_email[p.key] == 1 for p in answered), "one reply per answered email"
    assert not any(per_email[p.key] for p in emails if p.kind == "ignored")
    received = [bare_id(entry["message_id"]) for entry in e.sink.entries()]
    duplicates = [mid for mid, n in Counter(received).items() if n > 1]
    assert not duplicates, f"the SMTP sink got {len(duplicates)} duplicates: {duplicates[:5]}"
    expected_ids = {bare_id(r["smtp_message_id"]) for r in ledger}
    missing = expected_ids - set(received)
    unexpected = set(received) - expected_ids
    assert not missing, f"{len(missing)} sent messages not at the SMTP sink"
    assert not unexpected, f"{len(unexpected)} messages at the sink that the ledger lacks"
    replies_to = Counter(bare_id(entry["in_reply_to"]) for entry in e.sink.entries())
    assert all(replies_to[p.key] == 1 for p in answered)

    sender_log = e.system["sender"].log_path.read_text("utf-8", "replace")
    crash_rule = {
        event: sender_log.count(f'"{event}"')
        for event in ("done.sent_confirmed", "sender.sent_check_miss_resend", "sender.duplicate")
    }
    statuses = Counter(r["status"] for r in rows.values())
    routes = Counter(r["route"] for r in rows.values())
    kinds = Counter(p.kind for p in emails)
    print(
        f"  emails {len(emails)} {dict(kinds)}\n"
        f"  final statuses {dict(statuses)}; routes {dict(routes)}\n"
        f"  SMTP sink: {len(received)} messages, {len(set(received))} distinct, "
        f"0 duplicates, 0 missing; filed in Sent: {relay.filed}\n"
        f"  kills { ({n: e.system[n].kills for n in SERVICES}) }, "
        f"crashes restarted {dict(supervisor.crashes) or 0}\n"
        f"  sender after its kills: {crash_rule}\n"
        f"  settled {settled - chaos_done:.0f}s after the last fault; "
        f"total {time.monotonic() - started:.0f}s"
    )


async def chaos_system(
    make_system: MakeSystem, sent_folder: ImapFolder, stack: PrivateStack | None
) -> tuple[E2E, SentRelay]:
    e = await make_system(
        **(
            {"kafka_bootstrap": stack.bootstrap, "database_url": stack.database_url}
            if stack is not None
            else {}
        ),
        start=False,
    )
    relay = SentRelay(e.sink, sent_folder)
    e.system.services["sender"].env.update(relay.sender_env())
    await e.system.start()
    return e, relay


@pytest.mark.timeout(600)
async def test_chaos_every_email_exactly_once(
    private_stack: PrivateStack, sent_folder: ImapFolder, make_system: MakeSystem
) -> None:
    # (make_system last: its services are stopped before the private stack goes away)
    rng = random.Random(CHAOS_SEED)
    print(f"\nchaos: {CHAOS_EMAILS} emails, seed {CHAOS_SEED} (MAILROOM_E2E_CHAOS_SEED)")
    e, relay = await chaos_system(make_system, sent_folder, private_stack)
    # Ingest, sender and admin API SIGKILLed twice each at random moments, Kafka and
    # PostgreSQL restarted once. The responder's SIGKILL has its own test below.
    events = [*STABLE_UNDER_SIGKILL, *STABLE_UNDER_SIGKILL, "kafka", "postgres"]
    rng.shuffle(events)
    await run_chaos(
        e,
        count=CHAOS_EMAILS,
        events=events,
        rng=rng,
        stack=private_stack,
        relay=relay,
        settle_s=240,
    )


@pytest.mark.timeout(300)
async def test_chaos_responder_sigkill(sent_folder: ImapFolder, make_system: MakeSystem) -> None:
    rng = random.Random(CHAOS_SEED)
    count = min(CHAOS_EMAILS, 200)
    print(f"\nresponder chaos: {count} emails, seed {CHAOS_SEED} (MAILROOM_E2E_CHAOS_SEED)")
    e, relay = await chaos_system(make_system, sent_folder, None)
    await run_chaos(
        e,
        count=count,
        events=["responder"] * 4,
        rng=rng,
        stack=None,
        relay=relay,
        settle_s=60,
    )


# ------------------------------------------------------------------------------ mail loops


class VacationResponder:
    """Answers every message mailroom sends to ``address`` with an out-of-office reply."""

    def __init__(self, e: E2E, address: str, *, rfc3834: bool) -> None:
        self.e = e
        self.address = address
        self.rfc3834 = rfc3834
        self.seen: set[str] = set()
        self.sent: list[str] = []

    def received(self) -> list[dict[str, Any]]:
        return [m for m in self.e.sink.entries() if self.address in m["envelope_to"]]

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for entry in self.received():
                mid = entry["message_id"]
                if mid in self.seen:
                    continue
                self.seen.add(mid)
                await self._answer(entry)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    async def _answer(self, entry: dict[str, Any]) -> None:
        n = len(self.sent) + 1
        reply_id = self.e.message_id(f"vacation-{self.address.split('@')[0]}-{n}")
        raw_headers = self.e.sink.raw(entry).split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        references = [
            ref
            for line in raw_headers.splitlines()
            if line.lower().startswith("references:")
            for ref in line.split(":", 1)[1].split()
        ]
        headers: tuple[tuple[str, str], ...] = ()
        if self.rfc3834:
            headers = (("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes"))
        raw = customer_mail(
            message_id=reply_id,
            from_addr=f"Vacaciones <{self.address}>",
            subject=f"Fuera de la oficina: {entry['subject']}",
            body="Estoy de vacaciones hasta el lunes. Leeré tu correo cuando vuelva.",
            in_reply_to=entry["message_id"],
            references=[*references, entry["message_id"]],
            headers=headers,
        )
        await self.e.drop([raw])
        self.sent.append(bare_id(reply_id))


async def test_mail_loop_with_a_vacation_responder_stops(make_system: MakeSystem) -> None:
    e = await make_system()
    polite = VacationResponder(e, e.address("polite"), rfc3834=True)
    rude = VacationResponder(e, e.address("rude"), rfc3834=False)
    first = {
        r.address: customer_mail(
            message_id=e.message_id(f"first-{r.address.split('@')[0]}"),
            from_addr=f"Cliente <{r.address}>",
            subject="Envíos",
            body="Hola, ¿hacen envíos a Salta? ¿Cuánto tardan?",
        )
        for r in (polite, rude)
    }
    stop = asyncio.Event()
    tasks = [asyncio.create_task(r.run(stop)) for r in (polite, rude)]
    try:
        await e.drop(list(first.values()))
        cap = 3  # SENDER_MAX_REPLIES_PER_THREAD / _PER_RECIPIENT defaults

        async def rude_stopped() -> bool:
            # The rude responder's last auto-reply was refused by the loop guard.
            if len(rude.sent) < cap:
                return False
            rows = await e.db.tasks(rude.sent)
            return len(rows) == len(rude.sent) and all(
                r["status"] in ("send_failed", "ignored", "handoff", "sent") for r in rows.values()
            )

        await wait_until(rude_stopped, 120, "the loop to be stopped", 0.5, e.system.logs)
        polite_rows = await wait_until(
            lambda: _final_rows(e, polite.sent), 60, "the polite auto-reply screened", 0.5
        )
        # Quiet period: nothing more may come out of either conversation.
        before = (len(polite.received()), len(rude.received()), len(polite.sent), len(rude.sent))
        await asyncio.sleep(8)
        after = (len(polite.received()), len(rude.received()), len(polite.sent), len(rude.sent))
        assert after == before, f"the exchange went on: {before} -> {after}"
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    # RFC 3834: our one reply, its auto-reply ignored at ingest, nothing more.
    assert len(polite.received()) == 1
    assert len(polite.sent) == 1
    assert [r["status"] for r in polite_rows.values()] == ["ignored"]
    # No RFC 3834 headers: the per-thread/recipient cap ends it after `cap` replies.
    assert len(rude.received()) == cap, [m["subject"] for m in rude.received()]
    assert len(rude.sent) == cap
    rude_rows = await e.db.tasks(rude.sent)
    last = rude_rows[rude.sent[-1]]
    assert last["status"] == "send_failed", last
    reasons = [c["reason"] or "" for c in await e.db.status_changes(rude.sent[-1])]
    refused = [r for r in reasons if r.startswith("loop guard")]
    assert refused, reasons
    ledger = await e.db.ledger([rude.sent[-1]])
    assert [r["state"] for r in ledger] == ["suppressed"], ledger
    print(
        f"\nloop: polite responder got {len(polite.received())} mail from us, "
        f"rude responder {len(rude.received())} (cap {cap}); then: {refused[0]}"
    )


async def _final_rows(e: E2E, keys: list[str]) -> dict[str, dict[str, Any]] | None:
    if not keys:
        return None
    rows = await e.db.tasks(keys)
    if len(rows) < len(keys) or any(r["status"] not in FINAL for r in rows.values()):
        return None
    return rows


# ------------------------------------------------------------------------------ outage


@pytest.mark.timeout(420)
async def test_provider_outage_in_a_backlog(make_system: MakeSystem) -> None:
    e = await make_system(
        env={
            "responder": {
                "RESPONDER_BREAKER_FAILURE_THRESHOLD": "3",
                "RESPONDER_BREAKER_COOLDOWN_S": "5",
                "RESPONDER_RETRY_DELAYS_S": "[2, 4, 8, 8]",
                "RESPONDER_MAX_ATTEMPTS": "5",
            }
        }
    )
    await e.llm.configure(latency_ms=400)
    emails = [
        customer_mail(
            message_id=e.message_id(f"llm{n}"),
            from_addr=f"Cliente <{e.address(f'llm{n}')}>",
            subject="Consulta",
            body=LLM_MAILS[n % 2][1],
        )
        for n in range(16)
    ]
    keys = [bare_id(e.message_id(f"llm{n}")) for n in range(16)]
    await e.drop(emails)

    async def some_answered() -> bool:
        rows = await e.db.tasks(keys)
        return sum(r["status"] == "sent" for r in rows.values()) >= 3

    await wait_until(some_answered, 60, "the first answers", 0.2)
    await e.llm.configure(fail_status=503)  # every call fails until further notice
    outage_start = time.monotonic()
    await asyncio.sleep(OUTAGE_S)
    await e.llm.configure(fail_status=None, fail_count=None)
    print(f"\noutage: {time.monotonic() - outage_start:.0f}s of 503s")

    rows = await e.db.wait_final(keys, 150)
    statuses = Counter(r["status"] for r in rows.values())
    assert statuses == {"sent": 16}, statuses
    assert not await e.db.dead_letters(keys)
    stats = await e.llm.stats()
    failures = int(stats["by_status"].get("503", 0))
    assert failures >= 3, stats["by_status"]  # the outage was really felt
    retried = 0
    for key in keys:
        changes = [c["status"] for c in await e.db.status_changes(key)]
        retried += "retrying" in changes
    assert retried >= 1
    print(
        f"  16 LLM emails: all sent, 0 dead letters; {failures} calls got 503, "
        f"{retried} emails retried, calls {stats['by_status']}"
    )
