"""Filters and cursor pagination return exactly the expected rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def _all_pages(client: Any, path: str, params: dict[str, Any]) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not end"


async def test_tasks_filters_and_pagination(api: Any, seeder: Any, tools: Any) -> None:
    day = tools.unique_day()
    minute = timedelta(minutes=1)
    tasks = [
        seeder.task(0, created_at=day + 1 * minute, status="sent", route="faq"),
        seeder.task(1, created_at=day + 2 * minute, status="handoff", route="handoff"),
        seeder.task(2, created_at=day + 3 * minute, status="sent", route="llm"),
        # Same instant as task 2: the id breaks the tie, and no row is lost or repeated.
        seeder.task(3, created_at=day + 3 * minute, status="dead_letter", route="llm"),
        seeder.task(4, created_at=day + 4 * minute, status="sent", route="faq"),
    ]
    outside = seeder.task(5, created_at=day + timedelta(days=2), status="sent", route="faq")
    await seeder.add(*tasks, outside)
    window = {"since": day.isoformat(), "until": (day + timedelta(days=1)).isoformat()}

    def ids(*rows: Any) -> list[str]:
        ordered = sorted(rows, key=lambda t: (t.created_at, t.id), reverse=True)
        return [str(t.id) for t in ordered]

    pages = await _all_pages(api.client, "/v1/tasks", {**window, "limit": 2})
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == ids(*tasks)

    one_page = await _all_pages(api.client, "/v1/tasks", {**window, "limit": 200})
    assert one_page == [ids(*tasks)]

    sent = await _all_pages(api.client, "/v1/tasks", {**window, "status": "sent", "limit": 1})
    assert [i for p in sent for i in p] == ids(tasks[0], tasks[2], tasks[4])

    several = await _all_pages(
        api.client, "/v1/tasks", {**window, "status": ["handoff", "dead_letter"]}
    )
    assert several == [ids(tasks[1], tasks[3])]

    llm = await _all_pages(api.client, "/v1/tasks", {**window, "route": "llm"})
    assert llm == [ids(tasks[2], tasks[3])]

    sender = tasks[2].from_address.upper()
    by_sender = await _all_pages(api.client, "/v1/tasks", {"sender": sender})
    assert by_sender == [ids(tasks[2])]

    narrow = {"since": (day + 3 * minute).isoformat(), "until": (day + 4 * minute).isoformat()}
    assert await _all_pages(api.client, "/v1/tasks", narrow) == [ids(tasks[2], tasks[3])]

    combined = await _all_pages(
        api.client, "/v1/tasks", {**window, "status": "sent", "route": "faq"}
    )
    assert combined == [ids(tasks[0], tasks[4])]

    first = (await api.client.get("/v1/tasks", params=window)).json()["items"][0]
    assert first["message_key"] == tasks[4].message_key
    assert first["status"] == "sent"
    assert first["route"] == "faq"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"cursor": "bm90LWEtY3Vyc29y"}, 400),
        ({"limit": 0}, 422),
        ({"limit": 201}, 422),
        ({"status": "nonsense"}, 422),
        ({"since": "yesterday"}, 422),
        ({"since": "0001-01-01T00:00:00+23:00"}, 422),
    ],
)
async def test_bad_parameters_are_problems(api: Any, params: dict[str, Any], status: int) -> None:
    response = await api.client.get("/v1/tasks", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["instance"] == "/v1/tasks"
    assert body["detail"]


async def test_dead_letters_filters_and_pagination(api: Any, seeder: Any, tools: Any) -> None:
    day = tools.unique_day()
    hour = timedelta(hours=1)
    letters = [
        seeder.dead_letter(0, created_at=day + 1 * hour, stage="responder"),
        seeder.dead_letter(1, created_at=day + 2 * hour, stage="sender"),
        seeder.dead_letter(
            2, created_at=day + 3 * hour, stage="responder", reprocessed_at=day + 4 * hour
        ),
        seeder.dead_letter(3, created_at=day + 5 * hour, stage="responder", error_class="Other"),
    ]
    await seeder.add(*letters)
    window = {"since": day.isoformat(), "until": (day + timedelta(days=1)).isoformat()}
    cls = {"error_class": letters[0].error_class}

    def ids(*rows: Any) -> list[str]:
        return [str(r.id) for r in sorted(rows, key=lambda r: r.created_at, reverse=True)]

    pages = await _all_pages(api.client, "/v1/dead-letters", {**window, **cls, "limit": 1})
    assert [i for p in pages for i in p] == ids(*letters[:3])
    responder = await _all_pages(api.client, "/v1/dead-letters", {**cls, "stage": "responder"})
    assert responder == [ids(letters[0], letters[2])]
    open_only = await _all_pages(api.client, "/v1/dead-letters", {**cls, "open_only": True})
    assert open_only == [ids(letters[0], letters[1])]
    by_key = await _all_pages(
        api.client, "/v1/dead-letters", {"message_key": letters[3].message_key}
    )
    assert by_key == [ids(letters[3])]

    item = (await api.client.get("/v1/dead-letters", params={**window, "limit": 1})).json()
    assert item["items"][0]["error_class"] == "Other"
    assert item["items"][0]["stage"] == "responder"
    assert item["items"][0]["reprocessable"] is True


async def test_alerts_filters_and_pagination(api: Any, seeder: Any, tools: Any) -> None:
    day = tools.unique_day()
    minute = timedelta(minutes=1)
    alerts = [
        seeder.alert(0, at=day + 1 * minute, severity="warning"),
        seeder.alert(1, at=day + 2 * minute, severity="critical", message_key=seeder.key(1)),
        seeder.alert(2, at=day + 3 * minute, severity="warning"),
        seeder.alert(3, at=day + 4 * minute, severity="warning", kind="breaker_opened"),
    ]
    await seeder.add(*alerts)
    window = {"since": day.isoformat(), "until": (day + timedelta(days=1)).isoformat()}
    kind = {"kind": alerts[0].kind}

    def ids(*rows: Any) -> list[str]:
        return [str(r.id) for r in sorted(rows, key=lambda r: r.occurred_at, reverse=True)]

    pages = await _all_pages(api.client, "/v1/alerts", {**window, **kind, "limit": 2})
    assert pages == [ids(alerts[2], alerts[1]), ids(alerts[0])]
    warnings = await _all_pages(api.client, "/v1/alerts", {**window, "severity": "warning"})
    assert warnings == [ids(alerts[0], alerts[2], alerts[3])]
    by_key = await _all_pages(api.client, "/v1/alerts", {"message_key": seeder.key(1)})
    assert by_key == [ids(alerts[1])]
    body = (await api.client.get("/v1/alerts", params={**window, "limit": 1})).json()
    assert body["items"][0]["kind"] == "breaker_opened"
    assert body["items"][0]["details"] == {"n": 3}
