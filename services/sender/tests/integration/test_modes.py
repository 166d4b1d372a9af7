"""Answer modes and shadow mode in the running sender (real Kafka, PostgreSQL, SMTP server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.events import OutboundEmail, OutboundKind, Route, TaskStatus
from mailroom_common.topics import OUTBOUND, TRANSACTIONAL
from mailroom_sender.message import make_message_id

from .conftest import Bus, SmtpSink, eventually, make_settings, running
from .test_sender import order_request, reply

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def _rows(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(text(sql), params)]


async def ledger(engine: AsyncEngine, keys: list[str]) -> dict[str, tuple[str, str | None]]:
    rows = await _rows(
        engine,
        "SELECT message_key, state, last_error FROM send_ledger WHERE message_key = ANY(:k)",
        k=keys,
    )
    return {r["message_key"]: (r["state"], r["last_error"]) for r in rows}


async def task(engine: AsyncEngine, key: str) -> dict[str, Any] | None:
    rows = await _rows(
        engine,
        "SELECT status, status_reason, reply_text FROM email_tasks WHERE message_key = :k",
        k=key,
    )
    return rows[0] if rows else None


async def history(engine: AsyncEngine, key: str) -> list[tuple[str, str | None, str | None]]:
    rows = await _rows(
        engine,
        "SELECT status, reason, service FROM task_status_changes WHERE message_key = :k"
        " ORDER BY id",
        k=key,
    )
    return [(r["status"], r["reason"], r["service"]) for r in rows]


def _kind(kind: OutboundKind, route: Route, **kw: Any) -> OutboundEmail:
    return reply(kind=kind, route=route, **kw)


async def test_modes_off_hand_off_skip_and_never_send_later(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    off = {"mode_catalogue": "off", "mode_llm": "off", "mode_handoff_ack": "off"}
    cfg = make_settings(bus.kafka, database_url, smtp_sink.port, **off)
    faq = reply()
    catalogue = reply(route=Route.CATALOGUE, intent="price")
    holding = _kind(OutboundKind.HOLDING, Route.LLM, keeps_status=TaskStatus.PROCESSING)
    ack = _kind(OutboundKind.HANDOFF_ACK, Route.HANDOFF)
    keys = [m.message_key for m in (faq, catalogue, holding, ack)]
    async with running(cfg, "all"):
        for out in (faq, catalogue, holding, ack):
            await bus.publish(OUTBOUND, out, key=out.thread_key)
        await eventually(lambda: len(smtp_sink.received) >= 1)

        async def projected() -> bool:
            found = await task(db_engine, catalogue.message_key)
            return bool(found and found["status"] == "handoff")

        await eventually(projected)
        await eventually(lambda: _has_history(db_engine, ack.message_key))
        await eventually(lambda: _has_history(db_engine, holding.message_key))
    states = await ledger(db_engine, keys)
    assert states[faq.message_key][0] == "sent"
    why = "answer mode off for catalogue: a person answers"
    assert states[catalogue.message_key] == ("suppressed", f"not sent: {why}")
    assert states[holding.message_key] == ("suppressed", "not sent: llm answers are in off mode")
    assert states[ack.message_key][0] == "suppressed"
    assert [m.message_id for m in smtp_sink.received] == [
        make_message_id(faq.message_key, "reply", "mailroom.test")
    ]
    handed = await task(db_engine, catalogue.message_key)
    assert handed is not None
    assert (handed["status"], handed["status_reason"]) == ("handoff", why)
    assert (await history(db_engine, catalogue.message_key)) == [("handoff", why, "sender-modes")]
    assert (await history(db_engine, holding.message_key)) == [
        ("processing", "holding not sent: llm answers are in off mode", "sender")
    ]
    assert (await history(db_engine, ack.message_key)) == [
        (
            "handoff",
            "handoff_ack not sent: answer mode off for handoff_ack: a person answers",
            "sender",
        )
    ]

    # Every mode back to auto, and the same records again (a replay, a reset group): what
    # was settled without sending stays unsent, and nothing is reported twice.
    again = make_settings(bus.kafka, database_url, smtp_sink.port)
    async with running(again, "all"):
        for out in (catalogue, holding, ack):
            await bus.publish(OUTBOUND, out, key=out.thread_key)
        await asyncio.sleep(2.0)
    assert len(smtp_sink.received) == 1
    assert len(await history(db_engine, catalogue.message_key)) == 1


async def _has_history(engine: AsyncEngine, key: str) -> bool:
    return bool(await history(engine, key))


async def test_shadow_mode_decides_and_records_but_sends_nothing(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    cfg = make_settings(
        bus.kafka, database_url, smtp_sink.port, common={"shadow": True}, mode_llm="off"
    )
    faq = reply()
    llm = reply(route=Route.LLM, intent="general", body_text="Sí, es de algodón.")
    ack = _kind(OutboundKind.HANDOFF_ACK, Route.HANDOFF)
    order = order_request()
    order_key = f"txn:{order.request_id}"
    async with running(cfg, "all"):
        for out in (faq, llm, ack):
            await bus.publish(OUTBOUND, out, key=out.thread_key)
        await bus.publish(TRANSACTIONAL, order, key=order.request_id)

        async def recorded() -> bool:
            rows = await ledger(db_engine, [faq.message_key, llm.message_key, order_key])
            shadowed = await task(db_engine, llm.message_key)
            return len(rows) == 3 and bool(shadowed and shadowed["status"] == "shadowed")

        await eventually(recorded)
        await eventually(lambda: _has_history(db_engine, ack.message_key))
        await asyncio.sleep(0.5)
    assert smtp_sink.received == []
    shadowed = await task(db_engine, faq.message_key)
    assert shadowed == {
        "status": "shadowed",
        "status_reason": "shadow: would send",
        "reply_text": faq.body_text,
    }
    would_off = await task(db_engine, llm.message_key)
    assert would_off is not None
    assert would_off["status_reason"] == (
        "shadow: would hand off (answer mode off for llm: a person answers)"
    )
    assert would_off["reply_text"] == llm.body_text
    assert (await history(db_engine, ack.message_key)) == [
        ("handoff", "handoff_ack shadow: would send", "sender")
    ]
    states = await ledger(db_engine, [order_key, faq.message_key, ack.message_key])
    assert states[order_key] == ("suppressed", "shadow: would send")
    assert {s for s, _ in states.values()} == {"suppressed"}
