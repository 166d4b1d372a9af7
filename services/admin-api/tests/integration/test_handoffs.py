"""GET /v1/handoffs: the tasks waiting for a person, the longest-waiting first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

SMTP_REPLY = "handoff_ack sent; accepted: 250 2.0.0 Ok: queued as 4Xy"


async def _seed(seeder: Any, day: datetime) -> dict[str, Any]:
    """A hand-off (acknowledged by the sender), a human-owned task, a later hand-off and a
    sent task, waiting since day+10s, day+20s and day+30s."""
    handoff = seeder.task(
        1,
        created_at=day,
        status="handoff",
        route="handoff",
        status_reason=SMTP_REPLY,  # what the projector keeps: the latest change's reason
        status_at=day + timedelta(seconds=10),
        trace_id="a" * 32,
    )
    owned = seeder.task(
        2, created_at=day, status="human_owned", status_at=day + timedelta(seconds=20)
    )
    later = seeder.task(
        3,
        created_at=day,
        status="handoff",
        route="handoff",
        decision_reason="route handoff: the customer asks for a person",
        status_at=day + timedelta(seconds=30),
    )
    sent = seeder.task(4, created_at=day, status="sent", status_at=day + timedelta(seconds=5))
    changes = [
        seeder.change(1, "received", day, service="sender-projector"),
        seeder.change(
            1,
            "handoff",
            day + timedelta(seconds=9),
            reason="customer threatens a chargeback",
            service="responder",
        ),
        seeder.change(
            1, "handoff", day + timedelta(seconds=10), reason=SMTP_REPLY, service="sender"
        ),
        seeder.change(
            2,
            "human_owned",
            day + timedelta(seconds=20),
            reason="a person answered in the thread",
            service="ingest",
        ),
        seeder.change(
            4, "sent", day + timedelta(seconds=5), reason="accepted: 250 Ok", service="sender"
        ),
    ]
    await seeder.add(handoff, owned, later, sent, *changes, seeder.ledger(1, kind="handoff_ack"))
    return {"handoff": handoff, "owned": owned, "later": later, "sent": sent}


def _window(day: datetime) -> dict[str, str]:
    return {"since": day.isoformat(), "until": (day + timedelta(hours=1)).isoformat()}


async def test_waiting_tasks_oldest_first_with_their_reason_and_age(
    api: Any, seeder: Any, tools: Any
) -> None:
    day = tools.unique_day()
    rows = await _seed(seeder, day)
    before = datetime.now(UTC)
    response = await api.client.get("/v1/handoffs", params=_window(day))
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_waiting"] == 3
    assert body["next_cursor"] is None
    items = body["items"]
    assert [i["message_key"] for i in items] == [
        rows["handoff"].message_key,
        rows["owned"].message_key,
        rows["later"].message_key,
    ]
    first = items[0]
    assert first["task_id"] == str(rows["handoff"].id)
    assert (first["status"], first["route"]) == ("handoff", "handoff")
    assert first["from_address"] == rows["handoff"].from_address
    assert first["subject"] == "subject 1"
    assert first["trace_id"] == "a" * 32
    assert first["reason"] == "customer threatens a chargeback"
    assert "250" not in str(body)
    assert items[1]["reason"] == "a person answered in the thread"
    # No reason on a status change: the routing decision's.
    assert items[2]["reason"] == "route handoff: the customer asks for a person"

    waiting_since = day + timedelta(seconds=10)
    assert datetime.fromisoformat(first["waiting_since"]) == waiting_since
    lowest = (before - waiting_since).total_seconds()
    highest = (after - waiting_since).total_seconds()
    assert lowest - 1 <= first["age_s"] <= highest + 1
    assert first["age_s"] - items[2]["age_s"] == pytest.approx(20, abs=1)


async def test_status_filter_and_window(api: Any, seeder: Any, tools: Any) -> None:
    day = tools.unique_day()
    rows = await _seed(seeder, day)

    owned = (
        await api.client.get("/v1/handoffs", params={**_window(day), "status": "human_owned"})
    ).json()
    assert [i["task_id"] for i in owned["items"]] == [str(rows["owned"].id)]
    assert owned["total_waiting"] == 1

    both = await api.client.get(
        "/v1/handoffs",
        params=[*_window(day).items(), ("status", "handoff"), ("status", "human_owned")],
    )
    assert both.json()["total_waiting"] == 3

    # since/until apply to waiting_since: [day+15s, day+25s) holds only the owned task.
    narrow = {
        "since": (day + timedelta(seconds=15)).isoformat(),
        "until": (day + timedelta(seconds=25)).isoformat(),
    }
    assert [
        i["task_id"] for i in (await api.client.get("/v1/handoffs", params=narrow)).json()["items"]
    ] == [str(rows["owned"].id)]

    refused = await api.client.get("/v1/handoffs", params={"status": "sent"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"


async def test_cursor_pages_oldest_first_without_repeats(api: Any, seeder: Any, tools: Any) -> None:
    day = tools.unique_day()
    rows = await _seed(seeder, day)
    # A tie on waiting_since is broken by id.
    tie = seeder.task(5, created_at=day, status="handoff", status_at=day + timedelta(seconds=20))
    await seeder.add(tie)
    tied = sorted([rows["owned"].id, tie.id])
    expected = [rows["handoff"].id, *tied, rows["later"].id]

    seen: list[str] = []
    params: dict[str, Any] = {**_window(day), "limit": 1}
    for _ in range(10):
        page = (await api.client.get("/v1/handoffs", params=params)).json()
        assert page["total_waiting"] == 4
        seen.extend(i["task_id"] for i in page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [str(i) for i in expected]

    two = (await api.client.get("/v1/handoffs", params={**_window(day), "limit": 2})).json()
    rest = (
        await api.client.get(
            "/v1/handoffs", params={**_window(day), "limit": 2, "cursor": two["next_cursor"]}
        )
    ).json()
    assert [i["task_id"] for i in two["items"] + rest["items"]] == seen
    assert rest["next_cursor"] is None

    bad = await api.client.get("/v1/handoffs", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert bad.json()["type"] == "/problems/invalid-cursor"


async def test_handoffs_need_the_token(api: Any) -> None:
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as anonymous:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token-wrong"}):
            response = await anonymous.get("/v1/handoffs", headers=headers)
            assert response.status_code == 401, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
