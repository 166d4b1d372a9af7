"""Unauthenticated probes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mailroom_admin_api.deps import ResourcesDep
from mailroom_admin_api.metrics import Metrics
from mailroom_admin_api.problems import ProblemError, problem_responses
from mailroom_admin_api.schemas import Health, Readiness
from mailroom_admin_api.services.health import readiness

__all__ = ["router"]

router = APIRouter(tags=["health"])


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


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    assert isinstance(registry, Metrics)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
