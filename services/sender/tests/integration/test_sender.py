"""The sender against real Kafka, real PostgreSQL and a real (aiosmtpd) SMTP server."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.events import (
    AlertEvent,
    DeadLetterEvent,
    Event,
    OutboundEmail,
    OutboundKind,
    Route,
    StatusChanged,
    TaskStatus,
    TransactionalRequest,
)
from mailroom_common.topics import ALERTS, DEAD_LETTER, OUTBOUND, STATUS, TRANSACTIONAL
from mailroom_sender.message import make_message_id

from .conftest import Bus, SmtpSink, eventually, make_settings, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def reply(to: str | None = None, **kw: object) -> OutboundEmail:
    tag = uuid.uuid4().hex[:10]
    base: dict[str, object] = {
        "message_key": f"<{tag}@cliente.com>",
        "thread_key": f"thread-{tag}",
        "to": to or f"cliente-{tag}@example.com",
        "subject": "RE: Re: ¿Tienen talle M?",
        "body_text": "Hola, sí: hay talle M en negro.",
        "in_reply_to": f"<{tag}@cliente.com>",
        "references": [f"<root-{tag}@cliente.com>"],
        "route": Route.FAQ,
        "intent": "sizes",
        "producer": "responder",
    }
    base.update(kw)
    return OutboundEmail(**base)  # type: ignore[arg-type]


def statuses_for(key: str, events: list[Event]) -> list[StatusChanged]:
    return [e for e in events if isinstance(e, StatusChanged) and e.message_key == key]


async def ledger_states(engine: AsyncEngine, keys: list[str]) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT message_key, state FROM send_ledger WHERE message_key = ANY(:k)"),
            {"k": keys},
        )
        return {r.message_key: r.state for r in rows}


async def test_reply_arrives_once_with_threading_and_rfc3834_headers(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    cfg = make_settings(bus.kafka, database_url, smtp_sink.port, reply_to="ventas@mailroom.test")
    out = reply()
    async with running(cfg, "send"):
        # The same record twice (a producer retry, a replay): one email.
        await bus.publish(OUTBOUND, out, key=out.thread_key)
        await bus.publish(OUTBOUND, out, key=out.thread_key)
        await eventually(lambda: len(smtp_sink.received) >= 1)
        events = await bus.collect(
            STATUS,
            lambda ev: any(e.status is TaskStatus.SENT for e in statuses_for(out.message_key, ev)),  # type: ignore[union-attr]
        )
        await eventually(lambda: _ledger_done(db_engine, out.message_key), timeout_s=10)
    assert len(smtp_sink.received) == 1
    got = smtp_sink.received[0]
    msg = got.message
    assert got.rcpt == [out.to]
    assert msg["Subject"] == "Re: ¿Tienen talle M?"
    assert msg["In-Reply-To"] == out.message_key
    assert msg["References"] == f"{out.references[0]} {out.message_key}"
    assert msg["Message-ID"] == make_message_id(out.message_key, "reply", "mailroom.test")
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["From"] == "Tienda Test <shop@mailroom.test>"
    assert msg["Reply-To"] == "ventas@mailroom.test"
    sent = [e for e in statuses_for(out.message_key, events) if e.status is TaskStatus.SENT]
    # A redelivered duplicate may repeat the event, but always under the same id.
    assert len({e.event_id for e in sent}) == 1
    assert sent[0].route is Route.FAQ
    assert sent[0].reply_text == out.body_text
    assert (await ledger_states(db_engine, [out.message_key])) == {out.message_key: "sent"}


async def _ledger_done(engine: AsyncEngine, key: str) -> bool:
    return (await ledger_states(engine, [key])).get(key) == "sent"


def order_request(**data: object) -> TransactionalRequest:
    payload: dict[str, object] = {
        "order_number": "A-77",
        "customer_name": "Ana <b>",
        "items": [{"name": "Remera", "quantity": 2, "unit_price": "1000.00"}],
        "shipping_cost": "0",
        "total": "2000.00",
    }
    payload.update(data)
    return TransactionalRequest(
        request_id=uuid.uuid4().hex,
        template="order_confirmation",
        to=f"comprador-{uuid.uuid4().hex[:6]}@example.com",
        locale="en",
        data=payload,
    )


async def test_order_confirmation_renders_html_and_text_and_bad_request_is_dead_lettered(
    bus: Bus, smtp_sink: SmtpSink, database_url: str
) -> None:
    cfg = make_settings(bus.kafka, database_url, smtp_sink.port)
    good = order_request()
    bad = order_request(total="1.00")
    async with running(cfg, "send"):
        await bus.publish(TRANSACTIONAL, bad, key=bad.request_id)
        await bus.publish(TRANSACTIONAL, good, key=good.request_id)
        await eventually(lambda: len(smtp_sink.received) >= 1)
        dead = await bus.collect(DEAD_LETTER, lambda ev: len(ev) >= 1)
        alerts = await bus.collect(ALERTS, lambda ev: len(ev) >= 1)
    assert len(smtp_sink.received) == 1
    msg = smtp_sink.received[0].message
    assert msg["Subject"] == "Your order A-77 is confirmed – Tienda Test"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",))
    plain = msg.get_body(("plain",))
    assert html is not None
    assert "Ana &lt;b&gt;" in html.get_content()
    assert plain is not None
    assert "Ana <b>" in plain.get_content()
    assert "USD" not in plain.get_content()
    assert "ARS 2,000.00" in plain.get_content()
    [dl] = dead
    assert isinstance(dl, DeadLetterEvent)
    assert dl.stage == "transactional"
    assert dl.message_key == f"txn:{bad.request_id}"
    assert "does not match" in dl.error_message
    assert dl.original["request_id"] == bad.request_id
    assert any(isinstance(a, AlertEvent) and a.kind == "dead_letter" for a in alerts)


async def test_temporary_rejections_then_recovery_deliver_everything_once(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    smtp_sink.faults = ["421 4.3.2 shutting down", "451 4.3.0 try later"] * 3
    cfg = make_settings(bus.kafka, database_url, smtp_sink.port)
    outs = [reply() for _ in range(10)]
    async with running(cfg, "send"):
        for out in outs:
            await bus.publish(OUTBOUND, out, key=out.thread_key)
        await eventually(lambda: len(smtp_sink.received) >= 10, timeout_s=40)
        keys = [o.message_key for o in outs]
        await eventually(lambda: _all_sent(db_engine, keys), timeout_s=10)
    assert smtp_sink.faults == []
    counts = Counter(smtp_sink.ids())
    assert set(counts) == {make_message_id(o.message_key, "reply", "mailroom.test") for o in outs}
    assert max(counts.values()) == 1


async def _all_sent(engine: AsyncEngine, keys: list[str]) -> bool:
    states = await ledger_states(engine, keys)
    return len(states) == len(keys) and set(states.values()) == {"sent"}


async def test_permanent_rejection_is_dead_lettered_with_the_server_reply(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    smtp_sink.faults = ["550 5.1.1 mailbox unavailable: no such user"]
    cfg = make_settings(bus.kafka, database_url, smtp_sink.port)
    out = reply()
    async with running(cfg, "send"):
        await bus.publish(OUTBOUND, out, key=out.thread_key)
        dead = await bus.collect(DEAD_LETTER, lambda ev: len(ev) >= 1)
        status = await bus.collect(
            STATUS,
            lambda ev: any(
                e.status is TaskStatus.SEND_FAILED for e in statuses_for(out.message_key, ev)
            ),  # type: ignore[union-attr]
        )
    [dl] = dead
    assert isinstance(dl, DeadLetterEvent)
    assert dl.stage == "sender"
    assert dl.error_class == "SmtpRejected"
    assert dl.error_message == "550 5.1.1 mailbox unavailable: no such user"
    failed = [
        e for e in statuses_for(out.message_key, status) if e.status is TaskStatus.SEND_FAILED
    ]
    assert failed
    assert "550" in (failed[0].error or "")
    assert smtp_sink.received == []
    assert (await ledger_states(db_engine, [out.message_key]))[out.message_key] == "failed"


async def test_smtp_down_for_a_while_then_everything_is_delivered(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    smtp_sink.stop()
    cfg = make_settings(bus.kafka, database_url, smtp_sink.port, retry_max_s=0.5)
    outs = [reply() for _ in range(8)]
    async with running(cfg, "send"):
        for out in outs:
            await bus.publish(OUTBOUND, out, key=out.thread_key)
        keys = [o.message_key for o in outs]
        # Every message fails to connect at least once and stays pending, none is lost.
        await eventually(lambda: _all_in(db_engine, keys, {"pending"}), timeout_s=20)
        smtp_sink.start()
        await eventually(lambda: len(smtp_sink.received) >= 8, timeout_s=30)
        await eventually(lambda: _all_sent(db_engine, keys), timeout_s=10)
    assert Counter(smtp_sink.ids()).most_common(1)[0][1] == 1
    assert len(smtp_sink.received) == 8


async def _all_in(engine: AsyncEngine, keys: list[str], states: set[str]) -> bool:
    got = await ledger_states(engine, keys)
    return len(got) == len(keys) and set(got.values()) <= states


async def test_per_recipient_cap_stops_a_flood(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    victim = f"autoresponder-{uuid.uuid4().hex[:8]}@example.com"
    cfg = make_settings(bus.kafka, database_url, smtp_sink.port, max_replies_per_recipient=3)
    # A loop: the other side's auto-responder writes again and again, each a new thread.
    outs = [reply(to=victim, kind=OutboundKind.REPLY) for _ in range(12)]
    async with running(cfg, "send"):
        for out in outs:
            await bus.publish(OUTBOUND, out, key=out.thread_key)
        keys = [o.message_key for o in outs]
        await eventually(lambda: _all_in(db_engine, keys, {"sent", "suppressed"}), timeout_s=30)
        status = await bus.collect(
            STATUS,
            lambda ev: (
                sum(1 for e in ev if isinstance(e, StatusChanged) and e.message_key in keys) >= 12
            ),
        )
    assert len(smtp_sink.received) == 3
    states = Counter((await ledger_states(db_engine, keys)).values())
    assert states == {"sent": 3, "suppressed": 9}
    guarded = [
        e for e in status if isinstance(e, StatusChanged) and e.status is TaskStatus.SEND_FAILED
    ]
    assert len(guarded) == 9
    assert all("recipient cap" in (e.reason or "") for e in guarded)
