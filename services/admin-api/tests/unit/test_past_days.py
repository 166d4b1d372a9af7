"""PastDays: the Today chart's days before today are re-read at most once per ttl_s."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

import pytest

from mailroom_admin_api.repository import stats as stats_repo
from mailroom_admin_api.repository.stats import DayVolumeRow
from mailroom_admin_api.services.stats import PastDays


async def test_read_once_per_ttl_and_again_on_a_new_day(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[tuple[datetime, datetime]] = []

    async def volumes_by_day(session: Any, since: datetime, until: datetime) -> list[DayVolumeRow]:
        reads.append((since, until))
        return [DayVolumeRow(since.date(), len(reads), 0, 0)]

    monkeypatch.setattr(stats_repo, "volumes_by_day", volumes_by_day)
    now = [100.0]
    past = PastDays(ttl_s=60.0, clock=lambda: now[0])
    session = cast(Any, None)
    first, today = date(2026, 11, 20), date(2026, 12, 3)
    assert (await past.rows(session, first, today))[0].tasks == 1
    now[0] = 159.0
    assert (await past.rows(session, first, today))[0].tasks == 1  # kept
    assert reads[0][1] == datetime(2026, 12, 3, tzinfo=reads[0][1].tzinfo)  # up to midnight
    now[0] = 160.0
    assert (await past.rows(session, first, today))[0].tasks == 2  # expired: read again
    assert (await past.rows(session, date(2026, 11, 21), date(2026, 12, 4)))[0].tasks == 3
    assert len(reads) == 3


async def test_zero_ttl_reads_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0

    async def volumes_by_day(session: Any, since: datetime, until: datetime) -> list[DayVolumeRow]:
        nonlocal calls
        calls += 1
        return []

    monkeypatch.setattr(stats_repo, "volumes_by_day", volumes_by_day)
    past = PastDays(ttl_s=0.0)
    for _ in range(3):
        await past.rows(cast(Any, None), date(2026, 11, 20), date(2026, 12, 3))
    assert calls == 3
