"""``/v1/stats``: counts, rates, latency percentiles and LLM spend over a window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from mailroom_admin_api.deps import SessionDep
from mailroom_admin_api.filters import InvalidWindow, parse_window
from mailroom_admin_api.problems import ProblemError, problem_responses
from mailroom_admin_api.schemas import StatsOut
from mailroom_admin_api.services.stats import compute_stats

__all__ = ["router"]

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get(
    "",
    response_model=StatsOut,
    operation_id="getStats",
    summary="Operational figures over a window (default the last 24 hours)",
    responses=problem_responses(401, 422),
)
async def get_stats(
    session: SessionDep,
    window: Annotated[
        str,
        Query(
            pattern=r"^\d{1,4}[mhd]$",
            description="How far back: minutes, hours or days, e.g. 90m, 24h, 7d (≤ 366d).",
            examples=["24h"],
        ),
    ] = "24h",
) -> StatsOut:
    try:
        span = parse_window(window)
    except InvalidWindow as exc:
        raise ProblemError(422, "Invalid window", str(exc), kind="validation") from exc
    return await compute_stats(session, window, span, datetime.now(UTC))
