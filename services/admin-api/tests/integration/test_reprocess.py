"""POST /v1/tasks/{id}/reprocess and POST /v1/dead-letters/reprocess."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from mailroom_common.events import InboundEmail
from mailroom_common.topics import INBOUND

pytestmark = pytest.mark.integration


async def _inbound(tools: Any, kafka: Any, expect: int) -> list[InboundEmail]:
    records = await tools.read_topic(kafka, kafka.topic(INBOUND), expect=expect)
    events = [event for _, event in records]
    assert all(isinstance(e, InboundEmail) for e in events)
    return events


async def test_same_key_republishes_once_and_answers_the_same(
    api: Any, seeder: Any, tools: Any, kafka_topics: Any
) -> None:
    day = tools.unique_day()
    earlier_trace = uuid.uuid4().hex
    task = seeder.task(1, created_at=day, status="dead_letter", trace_id=earlier_trace)
    letter = seeder.dead_letter(1, created_at=day + timedelta(minutes=5))
    await seeder.add(task, letter)
    key = {"Idempotency-Key": f"op-{uuid.uuid4()}"}

    first = await api.client.post(f"/v1/tasks/{task.id}/reprocess", headers=key)
    second = await api.client.post(f"/v1/tasks/{task.id}/reprocess", headers=key)

    assert first.status_code == 202, first.text
    assert second.status_code == 202, second.text
    assert first.json() == second.json()
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    body = first.json()
    assert body["reprocess_of_trace_id"] == earlier_trace
    assert body["message_key"] == task.message_key

    events = await _inbound(tools, kafka_topics, expect=1)
    assert len(events) == 1
    event = events[0]
    assert str(event.event_id) == body["event_id"]
    assert event.event_id != InboundEmail.model_validate(letter.original).event_id
    assert event.attempt == 0
    assert event.reprocess_of_trace_id == earlier_trace
    assert event.message_key == task.message_key
    assert event.text == "hola 1"
    assert event.producer == "admin-api"

    detail = (await api.client.get(f"/v1/tasks/{task.id}")).json()
    assert detail["dead_letters"][0]["reprocessed_at"] is not None

    (span,) = [s for s in api.spans.get_finished_spans() if s.name == "admin.reprocess"]
    assert [format(link.context.trace_id, "032x") for link in span.links] == [earlier_trace]


async def test_concurrent_calls_with_one_key_publish_once(
    api: Any, seeder: Any, tools: Any, kafka_topics: Any
) -> None:
    day = tools.unique_day()
    task = seeder.task(1, created_at=day, status="dead_letter")
    await seeder.add(task, seeder.dead_letter(1, created_at=day))
    key = {"Idempotency-Key": f"op-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(api.client.post(f"/v1/tasks/{task.id}/reprocess", headers=key) for _ in range(4))
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.text for r in responses}) == 1
    assert len(await _inbound(tools, kafka_topics, expect=1)) == 1


async def test_sent_task_is_refused(api: Any, seeder: Any, tools: Any, kafka_topics: Any) -> None:
    day = tools.unique_day()
    sent = seeder.task(1, created_at=day, status="sent")
    # The projection may lag: the ledger alone also proves the customer got the answer.
    ledger_sent = seeder.task(2, created_at=day, status="replied")
    await seeder.add(
        sent,
        ledger_sent,
        seeder.dead_letter(1, created_at=day),
        seeder.dead_letter(2, created_at=day),
        seeder.ledger(2),
    )
    for task in (sent, ledger_sent):
        response = await api.client.post(
            f"/v1/tasks/{task.id}/reprocess", headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == "/problems/task-already-sent"
        assert body["title"] == "Task already sent"
        assert "second answer" in body["detail"]
    assert await _inbound(tools, kafka_topics, expect=0) == []


@pytest.mark.parametrize(
    "status", ["handoff", "send_failed", "uncertain", "replied", "ignored", "rejected"]
)
async def test_statuses_where_a_new_run_could_answer_twice_are_refused(
    api: Any, seeder: Any, tools: Any, kafka_topics: Any, status: str
) -> None:
    day = tools.unique_day()  # long ago: the refusal is about the status, not its age
    original = seeder.inbound(1).model_dump(mode="json")
    task = seeder.task(1, created_at=day, status=status, original=original)
    await seeder.add(task, seeder.dead_letter(1, created_at=day))
    response = await api.client.post(f"/v1/tasks/{task.id}/reprocess")
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["type"] == "/problems/task-not-reprocessable"
    assert f"'{status}'" in body["detail"]
    assert await _inbound(tools, kafka_topics, expect=0) == []


async def test_without_an_original_it_is_refused(api: Any, seeder: Any, tools: Any) -> None:
    day = tools.unique_day()
    no_letter = seeder.task(1, created_at=day, status="dead_letter")
    outbound_only = seeder.task(2, created_at=day, status="dead_letter")
    # Stuck, but from before the projector stored originals.
    old_received = seeder.task(3, created_at=day, status="received")
    await seeder.add(
        no_letter,
        outbound_only,
        old_received,
        seeder.dead_letter(
            2, created_at=day, stage="sender", original={"event_type": "outbound_email"}
        ),
    )
    for task in (no_letter, outbound_only, old_received):
        response = await api.client.post(f"/v1/tasks/{task.id}/reprocess")
        assert response.status_code == 409
        assert response.json()["type"] == "/problems/no-original"
    missing = await api.client.post(f"/v1/tasks/{uuid.uuid4()}/reprocess")
    assert missing.status_code == 404


@pytest.mark.parametrize("status", ["received", "processing", "retrying"])
async def test_a_stuck_task_is_republished_from_the_email_stored_with_it(
    api: Any, seeder: Any, tools: Any, kafka_topics: Any, status: str
) -> None:
    day = tools.unique_day()
    earlier_trace = uuid.uuid4().hex
    original = seeder.inbound(1).model_copy(update={"text": "¿Llegó mi pedido?"})
    task = seeder.task(
        1,
        created_at=day,
        status=status,
        trace_id=earlier_trace,
        original=original.model_dump(mode="json"),
    )
    await seeder.add(task)  # no dead letter: the task's own copy is enough

    response = await api.client.post(
        f"/v1/tasks/{task.id}/reprocess", headers={"Idempotency-Key": f"op-{uuid.uuid4()}"}
    )
    assert response.status_code == 202, response.text
    assert response.json()["reprocess_of_trace_id"] == earlier_trace
    (event,) = await _inbound(tools, kafka_topics, expect=1)
    assert event.message_key == task.message_key
    assert event.text == "¿Llegó mi pedido?"
    assert event.event_id != original.event_id  # a new run, not a redelivery
    assert (event.attempt, event.reprocess_of_trace_id) == (0, earlier_trace)


@pytest.mark.parametrize("status", ["received", "processing", "retrying"])
async def test_a_task_that_may_still_be_moving_is_refused_until_stuck(
    database_url: str, seeder: Any, tools: Any, kafka_topics: Any, status: str
) -> None:
    now = datetime.now(UTC)
    original = seeder.inbound(1).model_dump(mode="json")
    task = seeder.task(1, created_at=now - timedelta(seconds=30), status=status, original=original)
    await seeder.add(task)
    settings = tools.make_settings(database_url, kafka_topics, reprocess_stuck_after_s=60)
    async with tools.running_app(settings) as api:
        response = await api.client.post(f"/v1/tasks/{task.id}/reprocess")
        assert response.status_code == 409, response.text
        assert response.json()["type"] == "/problems/task-not-stuck"
        assert await _inbound(tools, kafka_topics, expect=0) == []
    # The same task, once past the threshold (here: a lower one).
    settings = tools.make_settings(database_url, kafka_topics, reprocess_stuck_after_s=20)
    async with tools.running_app(settings) as api:
        response = await api.client.post(f"/v1/tasks/{task.id}/reprocess")
        assert response.status_code == 202, response.text
    assert len(await _inbound(tools, kafka_topics, expect=1)) == 1


async def test_key_reused_for_another_task_is_refused(
    api: Any, seeder: Any, tools: Any, kafka_topics: Any
) -> None:
    day = tools.unique_day()
    one = seeder.task(1, created_at=day, status="dead_letter")
    two = seeder.task(2, created_at=day, status="dead_letter")
    await seeder.add(
        one, two, seeder.dead_letter(1, created_at=day), seeder.dead_letter(2, created_at=day)
    )
    key = {"Idempotency-Key": f"op-{uuid.uuid4()}"}
    assert (await api.client.post(f"/v1/tasks/{one.id}/reprocess", headers=key)).status_code == 202
    reused = await api.client.post(f"/v1/tasks/{two.id}/reprocess", headers=key)
    assert reused.status_code == 422
    assert reused.json()["type"] == "/problems/idempotency-key-reused"
    assert len(await _inbound(tools, kafka_topics, expect=1)) == 1


async def test_bulk_dry_run_counts_and_real_run_publishes_each_once(
    api: Any, seeder: Any, tools: Any, kafka_topics: Any
) -> None:
    day = tools.unique_day()
    rows = [
        seeder.task(1, created_at=day, status="dead_letter"),
        seeder.task(2, created_at=day, status="dead_letter"),
        seeder.task(3, created_at=day, status="sent"),
        # Task 1 failed twice: one republish answers both dead letters.
        seeder.dead_letter(1, created_at=day + timedelta(minutes=1)),
        seeder.dead_letter(1, created_at=day + timedelta(minutes=2)),
        seeder.dead_letter(2, created_at=day + timedelta(minutes=3)),
        seeder.dead_letter(3, created_at=day + timedelta(minutes=4)),
        seeder.dead_letter(4, created_at=day + timedelta(minutes=5), stage="ingest"),
        seeder.dead_letter(
            5,
            created_at=day + timedelta(minutes=6),
            stage="sender",
            original={"event_type": "outbound_email"},
        ),
    ]
    await seeder.add(*rows)
    error_class = rows[3].error_class
    flt = {"error_class": error_class}

    dry = await api.client.post("/v1/dead-letters/reprocess", json={**flt, "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert dry.json()["matched"] == 6
    assert sorted(dry.json()["published_message_keys"]) == [seeder.key(n) for n in (1, 2, 4)]
    assert {(s["message_key"], s["reason"]) for s in dry.json()["skipped"]} == {
        (seeder.key(3), "already sent"),
        (seeder.key(5), "original is not an inbound email"),
    }
    assert await _inbound(tools, kafka_topics, expect=0) == []

    stage_only = await api.client.post(
        "/v1/dead-letters/reprocess", json={**flt, "stage": "ingest", "dry_run": True}
    )
    assert stage_only.json()["published_message_keys"] == [seeder.key(4)]

    real = await api.client.post("/v1/dead-letters/reprocess", json=flt)
    assert real.status_code == 200, real.text
    assert real.json()["published"] == 3
    again = await api.client.post("/v1/dead-letters/reprocess", json=flt)
    assert again.json()["published"] == 0
    assert again.json()["matched"] == 2  # the sent one and the outbound one stay open

    events = await _inbound(tools, kafka_topics, expect=3)
    assert sorted(e.message_key for e in events) == [seeder.key(n) for n in (1, 2, 4)]
    assert all(e.attempt == 0 and e.reprocess_of_trace_id for e in events)

    async with seeder.engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT message_key FROM dead_letters WHERE error_class = :c "
                "AND reprocessed_at IS NULL ORDER BY message_key"
            ),
            {"c": error_class},
        )
        assert [r[0] for r in result] == [seeder.key(3), seeder.key(5)]


async def test_bulk_body_is_validated(api: Any) -> None:
    response = await api.client.post("/v1/dead-letters/reprocess", json={"stage": "nowhere"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
