"""``GET /v1/providers``: every LLM provider's breaker and limiter, as the responder reports."""

from __future__ import annotations

from mailroom_admin_api.provider_state import ProviderStateStore
from mailroom_admin_api.schemas import ProviderOut, ProvidersOut

__all__ = ["providers_out"]


def providers_out(store: ProviderStateStore) -> ProvidersOut:
    """The latest snapshot per provider (from ``mail.provider-state``), sorted by name."""
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
