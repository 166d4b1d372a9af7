"""The figures of the Today page, from the services the REST API answers with.

``/v1/stats?window=24h`` (volumes, automation rate, first response, dead letters, LLM
cost), ``/v1/handoffs`` (waiting for a person, the oldest first), ``/v1/stats?window=14d``'s
``by_day`` (the chart) and ``/v1/providers`` (the breaker and limiter): no second way to
compute any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.console.charts import DayChart, day_chart
from mailroom_admin_api.schemas import DayVolume, LlmDay, StatsOut
from mailroom_admin_api.services.handoffs import list_handoffs
from mailroom_admin_api.services.stats import PastDays, compute_stats, daily_volumes
from mailroom_admin_api.waiting import HandoffFilter

__all__ = ["CHART_DAYS", "TodayFigures", "today_figures"]

CHART_DAYS = 14
WINDOW = "24h"


@dataclass(frozen=True, slots=True)
class TodayFigures:
    now: datetime
    stats: StatsOut
    waiting: int
    oldest_waiting_s: float | None
    llm_today: LlmDay | None
    days: list[DayVolume]
    chart: DayChart

    @property
    def by_route(self) -> list[tuple[str, int]]:
        return sorted(self.stats.by_route.items(), key=lambda kv: (-kv[1], kv[0]))

    @property
    def by_status(self) -> list[tuple[str, int]]:
        return sorted(self.stats.by_status.items(), key=lambda kv: (-kv[1], kv[0]))


async def today_figures(
    session: AsyncSession, now: datetime, past: PastDays | None = None
) -> TodayFigures:
    stats = await compute_stats(session, WINDOW, timedelta(hours=24), now)
    oldest = await list_handoffs(session, HandoffFilter(), None, 1, now=now)
    days = await daily_volumes(session, CHART_DAYS, now, past)
    today = now.date()
    return TodayFigures(
        now=now,
        stats=stats,
        waiting=oldest.total_waiting,
        oldest_waiting_s=oldest.items[0].age_s if oldest.items else None,
        llm_today=next((d for d in stats.llm_by_day if d.day == today), None),
        days=days,
        chart=day_chart(days),
    )
