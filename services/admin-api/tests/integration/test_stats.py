"""GET /v1/stats on a database of its own, so every figure is exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration


async def test_stats_figures(own_database_url: str, kafka_topics: Any, tools: Any) -> None:
    engine = create_async_engine(own_database_url)
    seeder = tools.seeder_cls(engine)
    now = datetime.now(UTC)

    def hours_ago(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    try:
        llm_kwargs = {"model": "m", "prompt_tokens": 100, "completion_tokens": 20}
        await seeder.add(
            seeder.task(
                1,
                created_at=now - timedelta(minutes=10),
                status="sent",
                route="faq",
                received_at=now - timedelta(minutes=10),
                first_replied_at=now - timedelta(minutes=10) + timedelta(seconds=10),
            ),
            seeder.task(
                2,
                created_at=now - timedelta(minutes=20),
                status="replied",
                route="llm",
                received_at=now - timedelta(minutes=20),
                first_replied_at=now - timedelta(minutes=20) + timedelta(seconds=20),
                attempts=2,
                cost_usd=Decimal("0.001"),
                **llm_kwargs,
            ),
            seeder.task(
                3,
                created_at=now - timedelta(minutes=30),
                status="sent",
                route="catalogue",
                received_at=now - timedelta(minutes=30),
                first_replied_at=now - timedelta(minutes=30) + timedelta(seconds=30),
            ),
            seeder.task(
                4, created_at=now - timedelta(minutes=40), status="handoff", route="handoff"
            ),
            seeder.task(
                5, created_at=now - timedelta(minutes=50), status="ignored", route="ignored"
            ),
            seeder.task(
                6,
                created_at=hours_ago(30),
                status="sent",
                route="llm",
                received_at=hours_ago(30),
                first_replied_at=hours_ago(30) + timedelta(seconds=100),
                attempts=1,
                cost_usd=Decimal("0.002"),
                **llm_kwargs,
            ),
            seeder.task(7, created_at=hours_ago(31), status="dead_letter", route="llm"),
            seeder.change(4, "handoff", hours_ago(0.5), reason="complaint"),
            # The sender's report of the acknowledgement keeps "handoff": not a reason.
            seeder.change(
                4,
                "handoff",
                hours_ago(0.4),
                reason="handoff_ack sent; accepted: 250 2.0.0 Ok: queued",
                service="sender",
            ),
            seeder.change(7, "handoff", hours_ago(30), reason="low_confidence"),
            seeder.dead_letter(7, created_at=hours_ago(31)),
            seeder.dead_letter(8, created_at=hours_ago(200), reprocessed_at=hours_ago(100)),
            seeder.task(9, created_at=now - timedelta(days=30), status="sent", route="faq"),
        )
        settings = tools.make_settings(own_database_url, kafka_topics)
        async with tools.running_app(settings) as api:
            hour = (await api.client.get("/v1/stats", params={"window": "1h"})).json()
            week = (await api.client.get("/v1/stats", params={"window": "7d"})).json()
            default = await api.client.get("/v1/stats")
            bad = await api.client.get("/v1/stats", params={"window": "400d"})
            scrape = (await api.client.get("/metrics")).text
    finally:
        await engine.dispose()

    assert hour["window"] == "1h"
    assert hour["tasks"] == 5
    assert hour["by_status"] == {"sent": 2, "replied": 1, "handoff": 1, "ignored": 1}
    assert hour["by_route"] == {"faq": 1, "llm": 1, "catalogue": 1, "handoff": 1, "ignored": 1}
    # Answerable: tasks 1-4 (5 is ignored); automated: 1, 2, 3.
    assert hour["automation_rate"] == 0.75
    assert hour["faq_share"] == 0.3333
    assert hour["handoffs_by_reason"] == {"complaint": 1}
    assert hour["first_response"] == {"count": 3, "p50_seconds": 20.0, "p90_seconds": 28.0}
    assert hour["llm_by_day"] == [
        {
            "day": (now - timedelta(minutes=20)).date().isoformat(),
            "requests": 2,
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "cost_usd": 0.001,
        }
    ]
    assert hour["dead_letters"]["open"] == 1
    assert hour["dead_letters"]["in_window"] == 0
    assert 31 * 3600 - 60 < hour["dead_letters"]["oldest_open_age_seconds"] < 31 * 3600 + 60

    assert week["tasks"] == 7
    assert week["automation_rate"] == round(4 / 6, 4)
    assert week["handoffs_by_reason"] == {"complaint": 1, "low_confidence": 1}
    assert week["first_response"]["count"] == 4
    assert week["first_response"]["p50_seconds"] == 25.0
    assert sum(d["requests"] for d in week["llm_by_day"]) == 3
    assert sum(d["cost_usd"] for d in week["llm_by_day"]) == pytest.approx(0.003)
    assert week["dead_letters"]["in_window"] == 1
    assert [d["day"] for d in week["llm_by_day"]] == sorted(
        {hours_ago(30).date().isoformat(), hours_ago(1 / 3).date().isoformat()}
    )

    # The dead-letter backlog gauges read the same rows at scrape time.
    gauges = {
        line.split()[0]: float(line.split()[1])
        for line in scrape.splitlines()
        if line.startswith("mailroom_dead_letter")
    }
    assert gauges["mailroom_dead_letters_open"] == 1
    assert 31 * 3600 - 60 < gauges["mailroom_dead_letter_oldest_age_seconds"] < 31 * 3600 + 60

    assert default.status_code == 200
    assert default.json()["window"] == "24h"
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
