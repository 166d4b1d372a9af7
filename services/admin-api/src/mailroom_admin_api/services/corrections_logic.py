"""The rules of routing corrections, without I/O: what a correction corrects, and the figures
of ``/v1/stats``'s ``corrections``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from mailroom_admin_api.correction_schemas import CorrectionOut, RouteCorrections
from mailroom_admin_api.repository.stats import CorrectionCounts
from mailroom_common.db.models import RoutingCorrection

__all__ = [
    "DEFAULT_CORRECTED_BY",
    "correction_out",
    "decided_route",
    "route_corrections",
    "unique_skus",
]

# The admin API has one shared token, which names nobody: corrections are the operator's.
DEFAULT_CORRECTED_BY = "operator"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # corrected_at is NOT NULL; for the type checker


def decided_route(decision: Any, task_route: str | None) -> str | None:
    """Where the router sent the task: its decision's route, else the task's route.

    The decision is what the router chose; the task's route is where it ended (``handoff``
    when an unsafe LLM answer went to a person), which stands in for tasks without a
    recorded decision (from before decisions were recorded, or screened by ingest).
    """
    if isinstance(decision, dict):
        route = decision.get("route")
        if isinstance(route, str) and route:
            return route
    return task_route


def unique_skus(skus: Sequence[str]) -> list[str]:
    """``skus`` without repeats, in the order given (the first is the most important)."""
    return list(dict.fromkeys(skus))


def correction_out(row: RoutingCorrection, task_id: uuid.UUID) -> CorrectionOut:
    return CorrectionOut(
        task_id=task_id,
        message_key=row.message_key,
        route=row.route,
        intent=row.intent,
        product_skus=list(row.product_skus or []),
        note=row.note,
        decided_route=row.decided_route,
        route_changed=row.route != row.decided_route,
        corrected_by=row.corrected_by,
        corrected_at=row.corrected_at if row.corrected_at is not None else _EPOCH,
    )


def route_corrections(rows: Iterable[CorrectionCounts]) -> dict[str, RouteCorrections]:
    """Per decided route: decided, corrected, route changed and the share corrected."""
    return {
        r.route: RouteCorrections(
            decided=r.decided,
            corrected=r.corrected,
            route_changed=r.route_changed,
            share=round(r.corrected / r.decided, 4) if r.decided > 0 else None,
        )
        for r in sorted(rows, key=lambda r: r.route)
    }
