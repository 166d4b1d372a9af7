"""``GET /v1/stats``: the figures an operator checks first, over one window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic

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

__all__ = ["PastDays", "compute_stats", "daily_volumes", "ratio"]


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


@dataclass
class PastDays:
    """The per-day figures of the days before today, kept ``ttl_s`` (one per app).

    A page that draws the last 14 days every few seconds need not add up two weeks of mail
    each time: the past days are read at most once per ``ttl_s`` (a late status change of
    an old task shows within that), today's bucket is always read live.
    """

    ttl_s: float = 60.0
    clock: Callable[[], float] = monotonic
    _key: tuple[date, date] | None = None
    _at: float = 0.0
    _rows: list[stats_repo.DayVolumeRow] = field(default_factory=list)

    async def rows(
        self, session: AsyncSession, first: date, today: date
    ) -> list[stats_repo.DayVolumeRow]:
        now = self.clock()
        if self._key != (first, today) or now - self._at >= self.ttl_s:
            since = datetime.combine(first, time(), tzinfo=UTC)
            until = datetime.combine(today, time(), tzinfo=UTC)
            self._rows = list(await stats_repo.volumes_by_day(session, since, until))
            self._key, self._at = (first, today), now
        return self._rows


async def daily_volumes(
    session: AsyncSession, days: int, now: datetime, past: PastDays | None = None
) -> list[DayVolume]:
    """The last ``days`` UTC days up to ``now`` (today included), oldest first, every day
    present (zeros where no task was created): what the console's chart draws. With
    ``past``, the days before today come from it (see :class:`PastDays`)."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=UTC)
    if past is None:
        rows = await stats_repo.volumes_by_day(session, since, now)
    else:
        midnight = datetime.combine(today, time(), tzinfo=UTC)
        rows = [
            *await past.rows(session, first, today),
            *await stats_repo.volumes_by_day(session, midnight, now),
        ]
    found = {r.day: r for r in rows}
    out = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = found.get(day)
        out.append(
            _day_volume(row) if row else DayVolume(day=day, tasks=0, answerable=0, automated=0)
        )
    return out
