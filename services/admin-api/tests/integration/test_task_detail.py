"""GET /v1/tasks/{id}: everything about one task."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def test_detail_has_history_errors_cost_and_trace_link(
    api: Any, seeder: Any, tools: Any
) -> None:
    day = tools.unique_day()
    trace_id = uuid.uuid4().hex
    task = seeder.task(
        1,
        created_at=day,
        status="sent",
        route="llm",
        intent="order_status",
        attempts=2,
        last_error="RateLimitError: 429",
        reply_text="Hola, tu pedido sale mañana.",
        model="llama-3.1-8b-instant",
        prompt_tokens=812,
        completion_tokens=95,
        cost_usd=Decimal("0.000123"),
        trace_id=trace_id,
        first_replied_at=day + timedelta(seconds=42),
    )
    changes = [
        seeder.change(1, "received", day, service="sender-projector"),
        seeder.change(1, "retrying", day + timedelta(seconds=5), reason="rate limited"),
        seeder.change(1, "replied", day + timedelta(seconds=40)),
        seeder.change(1, "sent", day + timedelta(seconds=42)),
    ]
    letter = seeder.dead_letter(1, created_at=day + timedelta(seconds=30))
    await seeder.add(task, *changes, letter, seeder.ledger(1))

    response = await api.client.get(f"/v1/tasks/{task.id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == str(task.id)
    assert body["email"]["from_address"] == task.from_address
    assert body["email"]["subject"] == "subject 1"
    assert body["email"]["text"] == "hola 1"  # from the dead letter's original
    assert body["reply"]["text"] == "Hola, tu pedido sale mañana."
    assert body["reply"]["model"] == "llama-3.1-8b-instant"
    assert [c["status"] for c in body["status_changes"]] == [
        "received",
        "retrying",
        "replied",
        "sent",
    ]
    assert body["status_changes"][1]["reason"] == "rate limited"
    assert body["attempts"] == 2
    assert body["errors"][0] == "RateLimitError: 429"
    assert "provider kept failing" in body["errors"][1]
    assert body["usage"] == {"prompt_tokens": 812, "completion_tokens": 95, "cost_usd": 0.000123}
    assert body["trace"] == {
        "trace_id": trace_id,
        "url": f"http://127.0.0.1:16686/trace/{trace_id}",
    }
    assert [d["id"] for d in body["dead_letters"]] == [str(letter.id)]
    assert [(d["kind"], d["state"]) for d in body["deliveries"]] == [("reply", "sent")]


async def test_missing_task_is_a_404_problem(api: Any) -> None:
    missing = uuid.uuid4()
    response = await api.client.get(f"/v1/tasks/{missing}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/task-not-found"
    assert str(missing) in body["detail"]
    assert body["instance"] == f"/v1/tasks/{missing}"


async def test_non_uuid_id_is_a_422_problem(api: Any) -> None:
    response = await api.client.get("/v1/tasks/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "task_id"]


async def test_detail_shows_the_email_stored_with_the_task_and_its_redrives(
    api: Any, seeder: Any, tools: Any
) -> None:
    day = tools.unique_day()
    original = (
        seeder.inbound(1).model_copy(update={"text": "¿Tienen talle M?"}).model_dump(mode="json")
    )
    task = seeder.task(1, created_at=day, original=original, redrive_count=2)
    await seeder.add(task)
    body = (await api.client.get(f"/v1/tasks/{task.id}")).json()
    assert body["email"]["text"] == "¿Tienen talle M?"  # no dead letter needed
    assert body["redrive_count"] == 2


async def test_detail_and_summary_show_the_routing_decision(
    api: Any, seeder: Any, tools: Any
) -> None:
    day = tools.unique_day()
    record = {
        "route": "catalogue",
        "intent": "price",
        "reason": "catalogue:price: asks 'precio' and names 'jean mom'",
        "confidence": 0.875,
        "language": "es",
        "product_skus": ["JM-01", "JR-02"],
        "evidence": ["cue:precio", "product:JM-01"],
        "decided_by": "router",
    }
    decided = seeder.task(
        1,
        created_at=day,
        status="sent",
        route="catalogue",
        intent="price",
        decision=record,
        decision_reason=record["reason"],
        confidence=0.875,
        decision_at=day + timedelta(seconds=1),
    )
    older = seeder.task(2, created_at=day - timedelta(minutes=1), status="sent", route="faq")
    await seeder.add(decided, older)

    body = (await api.client.get(f"/v1/tasks/{decided.id}")).json()
    assert body["decision"] == record
    assert body["decision_reason"] == record["reason"]
    assert body["confidence"] == 0.875
    assert body["route"] == "catalogue"

    # A task from before decisions were recorded: null fields, not an error.
    body = (await api.client.get(f"/v1/tasks/{older.id}")).json()
    assert (body["decision"], body["decision_reason"], body["confidence"]) == (None, None, None)

    window = {
        "since": (day - timedelta(hours=1)).isoformat(),
        "until": (day + timedelta(hours=1)).isoformat(),
    }
    listed = (await api.client.get("/v1/tasks", params=window)).json()["items"]
    summaries = {item["id"]: item for item in listed}
    summary = summaries[str(decided.id)]
    assert (summary["route"], summary["decision_reason"], summary["confidence"]) == (
        "catalogue",
        record["reason"],
        0.875,
    )
    assert "decision" not in summary  # the whole record only in the detail
    assert summaries[str(older.id)]["decision_reason"] is None


async def test_openapi_documents_the_decision_fields(api: Any) -> None:
    schemas = api.app.openapi()["components"]["schemas"]
    summary = schemas["TaskSummary"]["properties"]
    assert {"route", "decision_reason", "confidence"} <= set(summary)
    assert "description" in summary["decision_reason"]
    detail = schemas["TaskDetail"]["properties"]
    assert "decision" in detail
    assert "description" in detail["decision"]
    decision = schemas["DecisionOut"]
    assert set(decision["properties"]) == {
        "route",
        "intent",
        "reason",
        "confidence",
        "language",
        "product_skus",
        "evidence",
        "decided_by",
    }
    assert decision["properties"]["confidence"]["maximum"] == 1.0


async def test_reasons_are_the_decisions_and_the_smtp_reply_is_the_delivery_result(
    api: Any, seeder: Any, tools: Any
) -> None:
    """#14 item 6: a hand-off's reason survives its acknowledgement's "accepted: 250 …"."""
    day = tools.unique_day()
    smtp_reply = "handoff_ack sent; accepted: 250 2.0.0 Ok: queued as 4Xy"
    task = seeder.task(
        1,
        created_at=day,
        status="handoff",
        status_reason=smtp_reply,  # what the projector stores: the latest change's reason
        route="handoff",
        decision_reason="route handoff: the customer asks for a person",
    )
    changes = [
        seeder.change(1, "received", day, service="sender-projector"),
        seeder.change(
            1,
            "handoff",
            day + timedelta(seconds=1),
            reason="customer threatens a chargeback",
            service="responder",
        ),
        seeder.change(
            1, "handoff", day + timedelta(seconds=2), reason=smtp_reply, service="sender"
        ),
    ]
    dead = seeder.task(2, created_at=day + timedelta(seconds=3), status="dead_letter")
    letter = seeder.dead_letter(2, created_at=day + timedelta(seconds=4))
    gave_up = seeder.change(
        2, "dead_letter", day + timedelta(seconds=4), reason="gave up", service="responder"
    )
    await seeder.add(task, *changes, seeder.ledger(1, kind="handoff_ack"), dead, letter, gave_up)

    detail = (await api.client.get(f"/v1/tasks/{task.id}")).json()
    assert detail["status_reason"] == "customer threatens a chargeback"
    assert detail["reason"] == "customer threatens a chargeback"
    assert detail["delivery_result"] == smtp_reply

    dead_detail = (await api.client.get(f"/v1/tasks/{dead.id}")).json()
    assert dead_detail["status_reason"] == f"{letter.error_class}: {letter.error_message}"
    assert dead_detail["delivery_result"] is None

    listed = await api.client.get(
        "/v1/tasks",
        params={"since": day.isoformat(), "until": (day + timedelta(minutes=1)).isoformat()},
    )
    assert listed.status_code == 200, listed.text
    by_key = {item["message_key"]: item for item in listed.json()["items"]}
    assert by_key[task.message_key]["reason"] == "customer threatens a chargeback"
    assert "250" not in str(by_key[task.message_key])
