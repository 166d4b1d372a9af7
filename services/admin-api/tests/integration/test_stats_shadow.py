"""GET /v1/stats: the would-be automation rate of shadow mode (own database: exact figures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration


async def test_would_be_automation_rate_counts_what_shadow_mode_would_have_sent(
    own_database_url: str, kafka_topics: Any, tools: Any
) -> None:
    engine = create_async_engine(own_database_url)
    seeder = tools.seeder_cls(engine)
    at = datetime.now(UTC) - timedelta(minutes=5)
    try:
        await seeder.add(
            seeder.task(
                1, created_at=at, status="shadowed", route="faq",
                status_reason="shadow: would send",
            ),
            seeder.task(
                2, created_at=at, status="shadowed", route="catalogue",
                status_reason="shadow: would draft (catalogue answers are in draft mode)",
            ),
            seeder.task(
                3, created_at=at, status="shadowed", route="llm",
                status_reason="shadow: would hand off (answer mode off for llm: a person answers)",
            ),
            seeder.task(4, created_at=at, status="handoff", route="handoff"),
            seeder.task(5, created_at=at, status="sent", route="faq"),  # before shadow mode
            seeder.task(6, created_at=at, status="drafted", route="faq"),
            seeder.task(7, created_at=at, status="ignored", route="ignored"),
        )  # fmt: skip
        async with tools.running_app(tools.make_settings(own_database_url, kafka_topics)) as api:
            stats = (await api.client.get("/v1/stats", params={"window": "1h"})).json()
            empty = (await api.client.get("/v1/stats", params={"window": "1m"})).json()
    finally:
        await engine.dispose()
    # Answerable: 1-6. Answered automatically: 5; would have been: 1 as well.
    assert stats["automation_rate"] == round(1 / 6, 4)
    assert stats["would_be_automation_rate"] == round(2 / 6, 4)
    assert stats["by_status"]["shadowed"] == 3
    assert empty["would_be_automation_rate"] is None
