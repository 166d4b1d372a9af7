"""The projector writes the same rows whatever the order and however often events come."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.events import (
    AlertEvent,
    DeadLetterEvent,
    DecisionRecord,
    InboundEmail,
    Route,
    StatusChanged,
    TaskStatus,
)
from mailroom_common.topics import ALERTS, DEAD_LETTER, INBOUND, STATUS
from mailroom_sender.metrics import SenderMetrics
from mailroom_sender.projector import Projector

from .conftest import Bus, eventually, make_settings, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


DECISION = DecisionRecord(
    route=Route.LLM,
    intent="sizes",
    reason="llm: no FAQ entry or product matched",
    confidence=0.42,
    language="es",
    product_skus=["RB-01", "RB-02"],
    evidence=["size:M"],
)


def lifecycle(key: str) -> list[Any]:
    thread = f"thread-{key}"
    return [
        InboundEmail(
            message_key=key,
            thread_key=thread,
            mailbox="shop@mailroom.test",
            from_address="ana@cliente.com",
            subject="¿Talle M?",
            occurred_at=at(0),
            received_at=at(-1),
            producer="ingest",
        ),
        StatusChanged(
            message_key=key,
            status=TaskStatus.PROCESSING,
            decision=DECISION,
            occurred_at=at(1),
            producer="responder",
        ),
        StatusChanged(
            message_key=key,
            status=TaskStatus.RETRYING,
            reason="429",
            attempts=1,
            error="rate limited",
            occurred_at=at(2),
            producer="responder",
        ),
        StatusChanged(
            message_key=key,
            status=TaskStatus.REPLIED,
            route=Route.LLM,
            intent="sizes",
            attempts=2,
            reply_text="Hola",
            prompt_tokens=100,
            completion_tokens=20,
            cost_usd=0.001,
            trace_id="a" * 32,
            occurred_at=at(3),
            producer="responder",
        ),
        StatusChanged(
            message_key=key,
            status=TaskStatus.SENT,
            reason="accepted: 250 OK",
            occurred_at=at(4),
            producer="sender",
        ),
        AlertEvent(kind="test", message="hello", message_key=key, occurred_at=at(5)),
        DeadLetterEvent(
            message_key=key,
            stage="sender",
            error_class="X",
            error_message="y",
            attempts=1,
            first_failure_at=at(5),
            last_failure_at=at(5),
            original={},
            original_topic="mail.outbound",
            occurred_at=at(5),
        ),
    ]


async def snapshot(engine: AsyncEngine, key: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        task = (
            (
                await conn.execute(
                    text(
                        "SELECT status, status_reason, status_at, route, intent, attempts,"
                        " last_error,"
                        " reply_text, prompt_tokens, completion_tokens, cost_usd, trace_id,"
                        " first_replied_at, from_address, subject, thread_key, received_at,"
                        " decision, decision_reason, confidence, decision_at"
                        " FROM email_tasks WHERE message_key = :k"
                    ),
                    {"k": key},
                )
            )
            .one()
            ._asdict()
        )
        history = sorted(
            tuple(r)
            for r in await conn.execute(
                text(
                    "SELECT event_id, status, reason, occurred_at FROM task_status_changes"
                    " WHERE message_key = :k"
                ),
                {"k": key},
            )
        )
        dead = (
            await conn.execute(
                text("SELECT count(*) FROM dead_letters WHERE message_key = :k"), {"k": key}
            )
        ).scalar_one()
        alerts = (
            await conn.execute(
                text("SELECT count(*) FROM alerts WHERE message_key = :k"), {"k": key}
            )
        ).scalar_one()
    return {"task": task, "history": history, "dead": dead, "alerts": alerts}


async def test_same_events_twice_and_shuffled_give_the_same_rows(db_engine: AsyncEngine) -> None:
    rng = random.Random(3)
    base_key = f"<proj-{uuid.uuid4().hex[:8]}@cliente.com>"
    events = lifecycle(base_key)
    # Reference: in order, once, by one projector.
    await _apply_all(Projector(db_engine, consumer_name="ref"), events)
    expected = await snapshot(db_engine, base_key)
    assert expected["task"]["status"] == "sent"
    assert expected["task"]["route"] == "llm"
    assert expected["task"]["attempts"] == 2
    assert expected["task"]["first_replied_at"] == at(3)
    # Set by PROCESSING, kept by the later REPLIED and SENT that carry none.
    assert expected["task"]["decision"] == DECISION.model_dump(mode="json")
    assert expected["task"]["decision_reason"] == DECISION.reason
    assert expected["task"]["confidence"] == pytest.approx(0.42)
    assert expected["task"]["decision_at"] == at(1)
    assert len(expected["history"]) == 5
    assert expected["dead"] == 1
    assert expected["alerts"] == 1
    for trial in range(5):
        key = f"{base_key}-{trial}"
        evs = [e.model_copy(update={"message_key": key, "event_id": uuid.uuid4()}) for e in events]
        batch = evs + evs
        rng.shuffle(batch)
        await _apply_all(Projector(db_engine, consumer_name=f"trial-{trial}"), batch)
        got = await snapshot(db_engine, key)
        assert got["task"] == expected["task"]
        assert sorted(h[1:] for h in got["history"]) == sorted(h[1:] for h in expected["history"])
        assert (got["dead"], got["alerts"]) == (1, 1)


async def test_a_poll_applied_as_one_batch_gives_the_rows_of_one_at_a_time(
    db_engine: AsyncEngine,
) -> None:
    """The runner applies a poll's records in one transaction: several emails' events
    interleaved, each twice (a redelivery inside the batch and across batches), give the
    same rows as applying them one by one, and each event is reported applied once."""
    base_key = f"<projb-{uuid.uuid4().hex[:8]}@cliente.com>"
    await _apply_all(Projector(db_engine, consumer_name="batch-ref"), lifecycle(base_key))
    expected = await snapshot(db_engine, base_key)
    rng = random.Random(5)
    keys = [f"{base_key}-{n}" for n in range(4)]
    evs = [
        e.model_copy(update={"message_key": k, "event_id": uuid.uuid4()})
        for k in keys
        for e in lifecycle(base_key)
    ]
    stream = evs + evs
    rng.shuffle(stream)
    projector = Projector(db_engine, consumer_name="batch")
    applied: list[bool] = []
    for start in range(0, len(stream), 13):  # batches of 13, not aligned with anything
        chunk = stream[start : start + 13]
        applied += await projector.apply_batch(chunk, [None] * len(chunk))
    assert sum(applied) == len(evs)
    for key in keys:
        got = await snapshot(db_engine, key)
        assert got["task"] == expected["task"]
        assert sorted(h[1:] for h in got["history"]) == sorted(h[1:] for h in expected["history"])
        assert (got["dead"], got["alerts"]) == (1, 1)


async def _apply_all(projector: Projector, events: list[Any]) -> None:
    for ev in events:
        await projector.apply(ev)


async def test_projector_consumes_the_topics(
    bus: Bus, database_url: str, db_engine: AsyncEngine
) -> None:
    key = f"<projk-{uuid.uuid4().hex[:8]}@cliente.com>"
    events = lifecycle(key)
    cfg = make_settings(bus.kafka, database_url, 1)
    topic_of = {
        InboundEmail: INBOUND,
        StatusChanged: STATUS,
        AlertEvent: ALERTS,
        DeadLetterEvent: DEAD_LETTER,
    }
    async with running(cfg, "project"):
        for ev in reversed(events + events):
            await bus.publish(topic_of[type(ev)], ev, key=key)

        async def done() -> bool:
            try:
                snap = await snapshot(db_engine, key)
            except Exception:
                return False
            return (
                snap["task"]["status"] == "sent"
                and len(snap["history"]) == 5
                and snap["alerts"] == 1
            )

        await eventually(done, timeout_s=30)
    snap = await snapshot(db_engine, key)
    assert snap["task"]["from_address"] == "ana@cliente.com"
    assert snap["task"]["reply_text"] == "Hola"
    assert snap["task"]["decision"] == DECISION.model_dump(mode="json")
    assert snap["dead"] == 1


async def test_the_latest_decision_is_kept_and_never_erased(db_engine: AsyncEngine) -> None:
    key = f"<projd-{uuid.uuid4().hex[:8]}@cliente.com>"
    first = lifecycle(key)[:5]  # inbound, PROCESSING (decision), RETRYING, REPLIED, SENT
    # An operator's reprocess: a new run whose router says FAQ (REPLIED carries it), then
    # the sender's SENT without one.
    rerun = DecisionRecord(
        route=Route.FAQ,
        intent="sizes",
        reason="faq:sizes: phrase 'talle'",
        confidence=0.9,
        language="es",
        evidence=["phrase:talle"],
    )
    second = [
        StatusChanged(
            message_key=key,
            status=TaskStatus.PROCESSING,
            occurred_at=at(100),
            producer="responder",
        ),
        StatusChanged(
            message_key=key,
            status=TaskStatus.REPLIED,
            route=Route.FAQ,
            intent="sizes",
            reply_text="Guía de talles",
            decision=rerun,
            occurred_at=at(101),
            producer="responder",
        ),
        StatusChanged(
            message_key=key,
            status=TaskStatus.SENT,
            reason="accepted: 250 OK",
            occurred_at=at(102),
            producer="sender",
        ),
    ]
    projector = Projector(db_engine, consumer_name="decision")
    await _apply_all(projector, first)
    task = (await snapshot(db_engine, key))["task"]
    assert (task["decision"], task["decision_at"]) == (DECISION.model_dump(mode="json"), at(1))

    await _apply_all(projector, second)
    task = (await snapshot(db_engine, key))["task"]
    assert task["decision"] == rerun.model_dump(mode="json")
    assert task["decision_reason"] == "faq:sizes: phrase 'talle'"
    assert task["confidence"] == pytest.approx(0.9)
    assert task["decision_at"] == at(101)
    assert (task["status"], task["route"]) == ("sent", "faq")

    # The first run's decision arriving late (a redelivery under a new consumer, or a
    # lagging partition) does not replace the newer one; any order gives the same decision.
    columns = ("status", "decision", "decision_reason", "confidence", "decision_at")
    expected = {c: task[c] for c in columns}
    rng = random.Random(11)
    for trial in range(3):
        other = f"{key}-{trial}"
        evs = [
            e.model_copy(update={"message_key": other, "event_id": uuid.uuid4()})
            for e in first + second
        ]
        rng.shuffle(evs)
        await _apply_all(Projector(db_engine, consumer_name=f"decision-{trial}"), evs)
        got = (await snapshot(db_engine, other))["task"]
        assert {c: got[c] for c in columns} == expected


async def test_outcomes_and_end_to_end_latency_are_counted_once(db_engine: AsyncEngine) -> None:
    metrics = SenderMetrics.create()
    key = f"<projm-{uuid.uuid4().hex[:8]}@cliente.com>"
    events = lifecycle(key)
    projector = Projector(db_engine, consumer_name="metrics", metrics=metrics)
    await _apply_all(projector, events + events)  # redelivered: counted once
    reg = metrics.registry
    assert reg.get_sample_value("mailroom_emails_total", {"status": "sent", "route": "llm"}) == 1
    # Received at -1 s, SMTP accepted (SENT) at the lifecycle's sent time.
    count = reg.get_sample_value("mailroom_email_end_to_end_seconds_count", {"route": "llm"})
    total = reg.get_sample_value("mailroom_email_end_to_end_seconds_sum", {"route": "llm"})
    sent_at = next(e.occurred_at for e in events if getattr(e, "status", None) == TaskStatus.SENT)
    assert count == 1
    assert total == pytest.approx((sent_at - at(-1)).total_seconds())
