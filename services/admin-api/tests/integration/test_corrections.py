"""/v1/tasks/{task_id}/correction against PostgreSQL, and the corrections figures of /v1/stats."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col

from mailroom_common.db.models import Category, EmailTask, Product

pytestmark = pytest.mark.integration


def decision(route: str, intent: str = "general", language: str = "es") -> dict[str, Any]:
    return {
        "route": route,
        "intent": intent,
        "reason": f"{route}: test",
        "confidence": 0.5,
        "language": language,
        "product_skus": [],
        "evidence": [],
        "decided_by": "router",
    }


@contextlib.asynccontextmanager
async def a_product(seeder: Any, sku: str) -> AsyncIterator[None]:
    """A product in the shared test database, removed afterwards: other packages' tests
    count the catalogue."""
    category = Category(slug=f"cat-{uuid.uuid4().hex[:8]}", name="Buzos")
    await seeder.add(category)
    assert category.id is not None
    await seeder.add(Product(sku=sku, name=f"Producto {sku}", category_id=category.id))
    try:
        yield
    finally:
        async with seeder.engine.begin() as conn:
            await conn.execute(delete(Product).where(col(Product.sku) == sku))
            await conn.execute(delete(Category).where(col(Category.id) == category.id))


async def test_record_read_replace_and_remove_a_correction(
    api: Any, seeder: Any, tools: Any
) -> None:
    day = tools.unique_day()
    sku = f"SKU-{seeder.tag}"
    async with a_product(seeder, sku):
        await correct_and_remove(api, seeder, day, sku)


async def correct_and_remove(api: Any, seeder: Any, day: datetime, sku: str) -> None:
    task = seeder.task(
        1, created_at=day, status="handoff", route="handoff", decision=decision("handoff")
    )
    await seeder.add(task)
    url = f"/v1/tasks/{task.id}/correction"

    assert (await api.client.get(url)).status_code == 404
    body = {"route": "catalogue", "intent": "stock", "product_skus": [sku, sku], "note": "talle"}
    first = await api.client.put(url, json=body)
    assert first.status_code == 200, first.text
    stored = first.json()
    assert stored["task_id"] == str(task.id)
    assert stored["message_key"] == task.message_key
    assert stored["product_skus"] == [sku]
    assert stored["decided_route"] == "handoff"
    assert stored["route_changed"] is True
    assert stored["corrected_by"] == "operator"

    # The same body again: nothing changes, not even the time.
    again = await api.client.put(url, json=body)
    assert again.json() == stored
    assert (await api.client.get(url)).json() == stored

    detail = (await api.client.get(f"/v1/tasks/{task.id}")).json()
    assert detail["correction"] == stored

    replaced = (await api.client.put(url, json={"route": "faq", "intent": "stock"})).json()
    assert (replaced["route"], replaced["product_skus"], replaced["note"]) == ("faq", [], None)
    assert replaced["corrected_at"] >= stored["corrected_at"]

    removed = await api.client.delete(url)
    assert removed.status_code == 204
    assert removed.content == b""
    assert (await api.client.get(url)).status_code == 404
    assert (await api.client.delete(url)).status_code == 204  # idempotent
    assert (await api.client.get(f"/v1/tasks/{task.id}")).json()["correction"] is None


async def test_unknown_tasks_and_bad_input_are_problems(api: Any, seeder: Any, tools: Any) -> None:
    task = seeder.task(1, created_at=tools.unique_day(), status="sent", route="faq")
    await seeder.add(task)
    missing = f"/v1/tasks/{uuid.uuid4()}/correction"
    for response in (
        await api.client.put(missing, json={"route": "faq"}),
        await api.client.get(missing),
        await api.client.delete(missing),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/task-not-found"
    none = await api.client.get(f"/v1/tasks/{task.id}/correction")
    assert none.json()["type"] == "/problems/correction-not-found"

    url = f"/v1/tasks/{task.id}/correction"
    for bad in (
        {"route": "transactional"},
        {"route": "faq", "intent": "Not A Key"},
        {"route": "faq", "extra": 1},
        {},
    ):
        response = await api.client.put(url, json=bad)
        assert response.status_code == 422, bad
        assert response.json()["type"] == "/problems/validation"
    unknown = await api.client.put(
        url, json={"route": "catalogue", "product_skus": [f"NOPE-{seeder.tag}"]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["type"] == "/problems/unknown-product"
    assert unknown.json()["unknown_skus"] == [f"NOPE-{seeder.tag}"]
    assert (await api.client.get(url)).status_code == 404  # nothing was stored
    unauthenticated = await api.client.put(
        url, json={"route": "faq"}, headers={"Authorization": ""}
    )
    assert unauthenticated.status_code == 401


async def test_stats_share_of_corrected_decisions(
    own_database_url: str, kafka_topics: Any, tools: Any
) -> None:
    engine = create_async_engine(own_database_url)
    seeder = tools.seeder_cls(engine)
    now = datetime.now(UTC)
    recent = now - timedelta(minutes=10)
    tasks = {
        # router said faq; corrected to handoff / uncorrected / corrected topic only
        1: seeder.task(1, created_at=recent, status="sent", route="faq", decision=decision("faq")),
        2: seeder.task(2, created_at=recent, status="sent", route="faq", decision=decision("faq")),
        3: seeder.task(3, created_at=recent, status="sent", route="faq", decision=decision("faq")),
        # no recorded decision: counted under the task's route
        4: seeder.task(4, created_at=recent, status="sent", route="llm"),
        # the router said llm, the task ended handed off: counted under llm
        5: seeder.task(
            5, created_at=recent, status="handoff", route="handoff", decision=decision("llm")
        ),
        # not decided yet: not counted
        6: seeder.task(6, created_at=recent, status="received"),
        # screened by ingest, but a customer after all
        7: seeder.task(7, created_at=recent, status="ignored", route="ignored"),
        # outside the hour
        8: seeder.task(
            8,
            created_at=now - timedelta(days=3),
            status="sent",
            route="faq",
            decision=decision("faq"),
        ),
    }
    corrections = {
        1: {"route": "handoff", "intent": "angry"},
        3: {"route": "faq", "intent": "returns"},
        4: {"route": "catalogue"},
        7: {"route": "faq", "intent": "shipping"},
        8: {"route": "llm"},
    }
    try:
        await seeder.add(*tasks.values())
        settings = tools.make_settings(own_database_url, kafka_topics)
        async with tools.running_app(settings) as api:
            for n, body in corrections.items():
                response = await api.client.put(f"/v1/tasks/{tasks[n].id}/correction", json=body)
                assert response.status_code == 200, response.text
            # A later decision (a reprocess) does not move a correction to another route.
            async with engine.begin() as conn:
                await conn.execute(
                    update(EmailTask)
                    .where(col(EmailTask.id) == tasks[3].id)
                    .values(decision=decision("llm"))
                )
            hour = (await api.client.get("/v1/stats", params={"window": "1h"})).json()
            week = (await api.client.get("/v1/stats", params={"window": "7d"})).json()
    finally:
        await engine.dispose()

    assert hour["corrections"] == {
        "faq": {"decided": 3, "corrected": 2, "route_changed": 1, "share": 0.6667},
        "ignored": {"decided": 1, "corrected": 1, "route_changed": 1, "share": 1.0},
        "llm": {"decided": 2, "corrected": 1, "route_changed": 1, "share": 0.5},
    }
    assert week["corrections"]["faq"] == {
        "decided": 4,
        "corrected": 3,
        "route_changed": 2,
        "share": 0.75,
    }
