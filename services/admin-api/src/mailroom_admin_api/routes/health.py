"""Unauthenticated probes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mailroom_admin_api.deps import ResourcesDep
from mailroom_admin_api.metrics import Metrics
from mailroom_admin_api.problems import ProblemError, problem_responses
from mailroom_admin_api.schemas import Health, Readiness
from mailroom_admin_api.services.health import readiness
from mailroom_common.logging import get_logger

__all__ = ["router"]

router = APIRouter(tags=["health"])
log = get_logger(__name__)


@router.get("/healthz", response_model=Health, operation_id="healthz", summary="Process is up")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    operation_id="readyz",
    summary="PostgreSQL and Kafka are reachable",
    responses=problem_responses(503),
)
async def readyz(resources: ResourcesDep) -> Readiness:
    checks = await readiness(
        resources.engine, resources.producer, resources.settings.admin.readiness_timeout_s
    )
    if any(state != "ok" for state in checks.values()):
        failing = ", ".join(f"{name} {state}" for name, state in checks.items() if state != "ok")
        raise ProblemError(
            503,
            "Not ready",
            f"Unreachable: {failing}.",
            kind="not-ready",
            extensions={"checks": checks},
        )
    return Readiness(checks=checks)


_DEAD_LETTER_BACKLOG = text(
    "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
    " FROM dead_letters WHERE reprocessed_at IS NULL"
)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    assert isinstance(registry, Metrics)
    resources = getattr(request.app.state, "resources", None)
    # The dead-letter backlog is PostgreSQL's to tell; a scrape while the database is down
    # keeps the last values rather than failing the whole endpoint.
    try:
        if resources is None:
            raise OSError("not started")
        async with asyncio.timeout(2.0), resources.engine.connect() as conn:
            count, age = (await conn.execute(_DEAD_LETTER_BACKLOG)).one()
        registry.dead_letters_open.set(count)
        registry.dead_letter_oldest_age.set(float(age))
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        log.warning("metrics.dead_letters_unavailable", error=str(exc)[:200])
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
