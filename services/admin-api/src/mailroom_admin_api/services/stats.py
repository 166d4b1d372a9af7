"""``GET /v1/stats``: the figures an operator checks first, over one window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.repository import stats as stats_repo
from mailroom_admin_api.schemas import (
    DayVolume,
    DeadLetterStats,
    FirstResponse,
    LlmDay,
    StatsOut,
)
from mailroom_admin_api.services.corrections_logic import route_corrections

__all__ = ["compute_stats", "daily_volumes", "ratio"]


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` rounded for display; None when there is nothing to divide."""
    if whole <= 0:
        return None
    return round(part / whole, 4)


async def compute_stats(
    session: AsyncSession, window_label: str, window: timedelta, now: datetime
) -> StatsOut:
    since = now - window
    by_status = await stats_repo.counts_by(session, "status", since, now)
    by_route = await stats_repo.counts_by(session, "route", since, now)
    automation = await stats_repo.automation_counts(session, since, now)
    handoffs = await stats_repo.handoffs_by_reason(session, since, now)
    first = await stats_repo.first_response_percentiles(session, since, now)
    days = await stats_repo.llm_by_day(session, since, now)
    letters = await stats_repo.dead_letter_figures(session, since, now)
    corrections = await stats_repo.corrections_by_decided_route(session, since, now)
    volumes = await stats_repo.volumes_by_day(session, since, now)
    oldest_age = (
        max((now - letters.oldest_open_at).total_seconds(), 0.0)
        if letters.oldest_open_at is not None
        else None
    )
    return StatsOut(
        window=window_label,
        since=since,
        until=now,
        tasks=sum(by_status.values()),
        by_status=by_status,
        by_route=by_route,
        automation_rate=ratio(automation.automated, automation.answerable),
        faq_share=ratio(automation.automated_faq, automation.automated),
        would_be_automation_rate=ratio(
            automation.automated + automation.shadowed_would_send, automation.answerable
        ),
        handoffs_by_reason=handoffs,
        first_response=FirstResponse(
            count=first.count, p50_seconds=first.p50, p90_seconds=first.p90
        ),
        llm_by_day=[
            LlmDay(
                day=d.day,
                requests=d.requests,
                prompt_tokens=d.prompt_tokens,
                completion_tokens=d.completion_tokens,
                cost_usd=float(d.cost_usd),
            )
            for d in days
        ],
        by_day=[_day_volume(v) for v in volumes],
        dead_letters=DeadLetterStats(
            open=letters.open, in_window=letters.in_window, oldest_open_age_seconds=oldest_age
        ),
        corrections=route_corrections(corrections),
    )


def _day_volume(row: stats_repo.DayVolumeRow) -> DayVolume:
    return DayVolume(
        day=row.day, tasks=row.tasks, answerable=row.answerable, automated=row.automated
    )


async def daily_volumes(session: AsyncSession, days: int, now: datetime) -> list[DayVolume]:
    """The last ``days`` UTC days up to ``now`` (today included), oldest first, every day
    present (zeros where no task was created): what the console's chart draws."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=UTC)
    found = {r.day: r for r in await stats_repo.volumes_by_day(session, since, now)}
    out = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = found.get(day)
        out.append(
            _day_volume(row) if row else DayVolume(day=day, tasks=0, answerable=0, automated=0)
        )
    return out
