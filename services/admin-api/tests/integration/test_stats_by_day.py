"""Per-day volumes: ``/v1/stats``' ``by_day`` and the console's 14 days, on a private database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.services.stats import daily_volumes

pytestmark = pytest.mark.integration


async def test_volumes_per_utc_day(own_database_url: str, kafka_topics: Any, tools: Any) -> None:
    engine = create_async_engine(own_database_url)
    seeder = tools.seeder_cls(engine)
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date(), time(), tzinfo=UTC)
    today_at = max(midnight, now - timedelta(minutes=5))
    two_days_ago = midnight - timedelta(days=2) + timedelta(hours=12)
    try:
        await seeder.add(
            seeder.task(1, created_at=today_at, status="sent", route="faq"),
            seeder.task(2, created_at=today_at, status="handoff", route="handoff"),
            seeder.task(3, created_at=today_at, status="ignored", route="ignored"),
            seeder.task(4, created_at=two_days_ago, status="replied", route="llm"),
            seeder.task(5, created_at=two_days_ago, status="sent", route="transactional"),
            # 20 days ago: in a 30-day window, never in the console's 14 days.
            seeder.task(6, created_at=midnight - timedelta(days=20), status="sent", route="faq"),
        )
        async with tools.running_app(tools.make_settings(own_database_url, kafka_topics)) as app:
            body = (await app.client.get("/v1/stats", params={"window": "30d"})).json()
        by_day = {d["day"]: d for d in body["by_day"]}
        assert list(by_day) == sorted(by_day)  # oldest first, only days with tasks
        assert by_day[now.date().isoformat()] == {
            "day": now.date().isoformat(),
            "tasks": 3,
            "answerable": 2,  # the ignored mail is not
            "automated": 1,
        }
        assert by_day[two_days_ago.date().isoformat()] == {
            "day": two_days_ago.date().isoformat(),
            "tasks": 2,
            "answerable": 1,  # transactional mail is not
            "automated": 1,
        }
        assert len(by_day) == 3

        async with AsyncSession(engine) as session:
            days = await daily_volumes(session, 14, now)
        assert len(days) == 14
        assert days[-1].day == now.date()
        assert days[0].day == now.date() - timedelta(days=13)
        assert [d.tasks for d in days] == [0] * 11 + [2, 0, 3]
        assert sum(d.automated for d in days) == 2
    finally:
        await engine.dispose()
