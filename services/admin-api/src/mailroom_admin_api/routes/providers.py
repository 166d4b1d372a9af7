"""``/v1/providers``: each LLM provider's breaker and limiter, as the responder reports."""

from __future__ import annotations

from fastapi import APIRouter

from mailroom_admin_api.deps import ResourcesDep
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.schemas import ProvidersOut
from mailroom_admin_api.services.providers import providers_out

__all__ = ["router"]

router = APIRouter(prefix="/v1/providers", tags=["providers"])


@router.get(
    "",
    response_model=ProvidersOut,
    operation_id="listProviders",
    summary="Breaker state and limiter use of every LLM provider",
    responses=problem_responses(401),
)
async def list_providers(resources: ResourcesDep) -> ProvidersOut:
    return providers_out(resources.provider_state)
