"""``/v1/providers``: each LLM provider's breaker and limiter, as the responder reports."""

from __future__ import annotations

from fastapi import APIRouter

from mailroom_admin_api.deps import ResourcesDep
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.schemas import ProviderOut, ProvidersOut

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
    store = resources.provider_state
    return ProvidersOut(
        providers=[
            ProviderOut(
                provider=e.provider,
                breaker_state=e.breaker_state,
                open_until=e.open_until,
                consecutive_failures=e.consecutive_failures,
                requests_in_window=e.requests_in_window,
                tokens_in_window=e.tokens_in_window,
                request_limit=e.request_limit,
                next_free_at=e.next_free_at,
                updated_at=e.occurred_at,
            )
            for e in store.snapshot()
        ],
        caught_up=store.caught_up,
    )
