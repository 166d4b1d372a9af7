"""Aggregates for ``GET /v1/stats``; every figure is computed in PostgreSQL."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Float, and_, cast, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from mailroom_admin_api.reasons import DELIVERY_SERVICE
from mailroom_common.answer_modes import SHADOW_WOULD_SEND
from mailroom_common.db.models import (
    DeadLetterRecord,
    EmailTask,
    RoutingCorrection,
    TaskStatusChange,
)
from mailroom_common.events import Route, TaskStatus

__all__ = [
    "AutomationCounts",
    "CorrectionCounts",
    "DayVolumeRow",
    "DeadLetterFigures",
    "LlmDayRow",
    "Percentiles",
    "automation_counts",
    "corrections_by_decided_route",
    "counts_by",
    "dead_letter_figures",
    "first_response_percentiles",
    "handoffs_by_reason",
    "llm_by_day",
    "volumes_by_day",
]

AUTOMATED_ROUTES = (Route.FAQ.value, Route.CATALOGUE.value, Route.LLM.value)
ANSWERED_STATUSES = (TaskStatus.REPLIED.value, TaskStatus.SENT.value)
# Mail nobody should answer does not count against automation.
NOT_ANSWERABLE_STATUSES = (TaskStatus.IGNORED.value, TaskStatus.REJECTED.value)
NOT_ANSWERABLE_ROUTES = (Route.IGNORED.value, Route.TRANSACTIONAL.value)


@dataclass(frozen=True, slots=True)
class AutomationCounts:
    answerable: int
    automated: int
    automated_faq: int
    # Shadow mode: answers recorded as "would send" (sent automatically, had it been on).
    shadowed_would_send: int = 0


@dataclass(frozen=True, slots=True)
class Percentiles:
    count: int
    p50: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class LlmDayRow:
    day: date
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True, slots=True)
class DayVolumeRow:
    day: date
    tasks: int
    answerable: int
    automated: int


@dataclass(frozen=True, slots=True)
class CorrectionCounts:
    """One decided route's counts over the window."""

    route: str
    decided: int
    corrected: int
    route_changed: int


@dataclass(frozen=True, slots=True)
class DeadLetterFigures:
    open: int
    in_window: int
    oldest_open_at: datetime | None


def _in_window(since: datetime, until: datetime):  # type: ignore[no-untyped-def]
    created = col(EmailTask.created_at)
    return and_(created >= since, created < until)


async def counts_by(
    session: AsyncSession, column: str, since: datetime, until: datetime
) -> dict[str, int]:
    """Task counts per value of ``status`` or ``route`` (a missing route is "none")."""
    key = col(EmailTask.status) if column == "status" else col(EmailTask.route)
    label = func.coalesce(key, "none")
    stmt = select(label, func.count()).where(_in_window(since, until)).group_by(label)
    return {str(k): int(n) for k, n in (await session.exec(stmt)).all()}


async def automation_counts(
    session: AsyncSession, since: datetime, until: datetime
) -> AutomationCounts:
    route = func.coalesce(col(EmailTask.route), "")
    status = col(EmailTask.status)
    answered = status.in_(ANSWERED_STATUSES)
    stmt = select(
        func.count().filter(
            and_(status.not_in(NOT_ANSWERABLE_STATUSES), route.not_in(NOT_ANSWERABLE_ROUTES))
        ),
        func.count().filter(and_(answered, route.in_(AUTOMATED_ROUTES))),
        func.count().filter(and_(answered, route == Route.FAQ.value)),
        func.count().filter(
            and_(
                status == TaskStatus.SHADOWED.value,
                col(EmailTask.status_reason).startswith(SHADOW_WOULD_SEND, autoescape=True),
                route.in_(AUTOMATED_ROUTES),
            )
        ),
    ).where(_in_window(since, until))
    answerable, automated, faq, would_send = (await session.exec(stmt)).one()
    return AutomationCounts(int(answerable), int(automated), int(faq), int(would_send))


async def handoffs_by_reason(
    session: AsyncSession, since: datetime, until: datetime
) -> dict[str, int]:
    """Tasks handed to a person, by the reason their handoff status change gave.

    Only the change that handed the task over counts: the sender's report that the
    acknowledgement went out ("handoff_ack sent; accepted: 250 …") keeps the status
    handoff but is a delivery result, not a reason.
    """
    reason = func.coalesce(col(TaskStatusChange.reason), "unspecified")
    stmt = (
        select(reason, func.count(func.distinct(col(TaskStatusChange.message_key))))
        .join(EmailTask, col(EmailTask.message_key) == col(TaskStatusChange.message_key))
        .where(TaskStatusChange.status == TaskStatus.HANDOFF.value)
        .where(col(TaskStatusChange.service).is_distinct_from(DELIVERY_SERVICE))
        .where(_in_window(since, until))
        .group_by(reason)
    )
    return {str(k): int(n) for k, n in (await session.exec(stmt)).all()}


async def first_response_percentiles(
    session: AsyncSession, since: datetime, until: datetime
) -> Percentiles:
    seconds = cast(
        func.extract("epoch", col(EmailTask.first_replied_at) - col(EmailTask.received_at)),
        Float,
    )
    stmt = (
        select(
            func.count(),
            func.percentile_cont(0.5).within_group(seconds),
            func.percentile_cont(0.9).within_group(seconds),
        )
        .where(_in_window(since, until))
        .where(col(EmailTask.first_replied_at).is_not(None))
        .where(col(EmailTask.received_at).is_not(None))
    )
    count, p50, p90 = (await session.exec(stmt)).one()
    return Percentiles(
        int(count), float(p50) if p50 is not None else None, float(p90) if p90 is not None else None
    )


async def llm_by_day(session: AsyncSession, since: datetime, until: datetime) -> list[LlmDayRow]:
    """Per UTC day: LLM calls (each task's attempts, at least one), tokens and cost."""
    day = cast(func.timezone("UTC", col(EmailTask.created_at)), Date)
    # sqlmodel's select() is typed for at most four columns; the fifth is added untyped.
    stmt = typing.cast(
        "Select[date, int, int, int, Decimal]",
        select(
            day,
            func.sum(func.greatest(col(EmailTask.attempts), 1)),
            func.sum(col(EmailTask.prompt_tokens)),
            func.sum(col(EmailTask.completion_tokens)),
        ).add_columns(func.sum(func.coalesce(col(EmailTask.cost_usd), 0))),
    )
    stmt = (
        stmt.where(_in_window(since, until))
        .where(col(EmailTask.model).is_not(None))
        .group_by(day)
        .order_by(day)
    )
    return [
        LlmDayRow(d, int(r), int(p), int(c), Decimal(cost))
        for d, r, p, c, cost in (await session.exec(stmt)).all()
    ]


async def volumes_by_day(
    session: AsyncSession, since: datetime, until: datetime
) -> list[DayVolumeRow]:
    """Per UTC day with tasks: tasks created, answerable ones, automated answers.

    "Answerable" and "automated" are :func:`automation_counts`' definitions, per day.
    """
    day = cast(func.timezone("UTC", col(EmailTask.created_at)), Date)
    route = func.coalesce(col(EmailTask.route), "")
    status = col(EmailTask.status)
    stmt = (
        select(
            day,
            func.count(),
            func.count().filter(
                and_(status.not_in(NOT_ANSWERABLE_STATUSES), route.not_in(NOT_ANSWERABLE_ROUTES))
            ),
            func.count().filter(and_(status.in_(ANSWERED_STATUSES), route.in_(AUTOMATED_ROUTES))),
        )
        .where(_in_window(since, until))
        .group_by(day)
        .order_by(day)
    )
    return [
        DayVolumeRow(d, int(n), int(answerable), int(automated))
        for d, n, answerable, automated in (await session.exec(stmt)).all()
    ]


async def dead_letter_figures(
    session: AsyncSession, since: datetime, until: datetime
) -> DeadLetterFigures:
    created = col(DeadLetterRecord.created_at)
    is_open = col(DeadLetterRecord.reprocessed_at).is_(None)
    stmt = select(
        func.count().filter(is_open),
        func.count().filter(and_(created >= since, created < until)),
        func.min(created).filter(is_open),
    ).select_from(DeadLetterRecord)
    open_count, in_window, oldest = (await session.exec(stmt)).one()
    return DeadLetterFigures(int(open_count), int(in_window), oldest)


async def corrections_by_decided_route(
    session: AsyncSession, since: datetime, until: datetime
) -> list[CorrectionCounts]:
    """Per decided route: tasks decided, corrected, and corrected to another route.

    A task counts under the route its correction corrected (``decided_route``), else under
    its decision's route, else under the task's route; tasks with none of these (not
    decided yet) are left out. ``services.corrections_logic.decided_route`` is the same
    rule in Python.
    """
    c = RoutingCorrection
    decision_route = col(EmailTask.decision)["route"].as_string()
    key = func.coalesce(col(c.decided_route), decision_route, col(EmailTask.route))
    corrected = col(c.message_key).is_not(None)
    stmt = (
        select(
            key,
            func.count(),
            func.count().filter(corrected),
            func.count().filter(and_(corrected, col(c.route) != key)),
        )
        .select_from(EmailTask)
        .outerjoin(c, col(c.message_key) == col(EmailTask.message_key))
        .where(_in_window(since, until))
        .where(key.is_not(None))
        .group_by(key)
    )
    return [
        CorrectionCounts(str(route), int(decided), int(n), int(changed))
        for route, decided, n, changed in (await session.exec(stmt)).all()
    ]
