"""One LLM provider's breaker and limiter together: the value kept in the Faust table.

Pure: every method takes ``now`` (epoch seconds, because the state moves between
workers) and returns a new state. The provider agent is the only writer; see README.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mailroom_responder.breaker import Breaker, BreakerConfig, BreakerPhase, Transition
from mailroom_responder.limiter import Limiter, LimiterConfig, RateLimitInfo

__all__ = ["Gate", "ProviderConfig", "ProviderState"]


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    limiter: LimiterConfig = field(default_factory=LimiterConfig)


@dataclass(frozen=True, slots=True)
class Gate:
    """Answer to "may I call the provider now?"."""

    go: bool
    wait_until: float | None = None
    reason: str | None = None  # "breaker_open", "probe_in_flight" or "rate_limit"
    transition: Transition | None = None


def _ts(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


@dataclass(frozen=True, slots=True)
class ProviderState:
    provider: str
    breaker: Breaker = field(default_factory=Breaker)
    limiter: Limiter = field(default_factory=Limiter)

    def admit(self, now: float, cfg: ProviderConfig, tokens: int) -> tuple[ProviderState, Gate]:
        """Reserve a slot and (maybe) the half-open probe, or say until when to wait."""
        limiter_at = self.limiter.next_allowed_at(now, cfg.limiter, tokens)
        breaker, admission = self.breaker.admit(now, cfg.breaker)
        if not admission.allowed:
            half_open = self.breaker.phase is BreakerPhase.HALF_OPEN
            reason = "probe_in_flight" if half_open else "breaker_open"

            return self, Gate(False, max(admission.wait_until or now, limiter_at), reason)
        if limiter_at > now:
            # Do not take the probe (or change anything) while the limiter says no.
            return self, Gate(False, limiter_at, "rate_limit")
        reserved = self.limiter.reserve(now, cfg.limiter, tokens)
        return replace(self, breaker=breaker, limiter=reserved), Gate(
            True, transition=admission.transition
        )

    def on_success(
        self, now: float, cfg: ProviderConfig, info: RateLimitInfo
    ) -> tuple[ProviderState, Transition | None]:
        breaker, transition = self.breaker.on_success(now, cfg.breaker)
        limiter = self.limiter.settle(now).observe(now, info)
        return replace(self, breaker=breaker, limiter=limiter), transition

    def on_transient_failure(
        self, now: float, cfg: ProviderConfig, info: RateLimitInfo
    ) -> tuple[ProviderState, Transition | None]:
        breaker, transition = self.breaker.on_failure(now, cfg.breaker)
        limiter = self.limiter.settle(now).observe(now, info)
        return replace(self, breaker=breaker, limiter=limiter), transition

    def on_rate_limited(
        self, now: float, cfg: ProviderConfig, info: RateLimitInfo
    ) -> tuple[ProviderState, Transition | None]:
        """A 429 is back-pressure: the limiter waits; the breaker is not told."""
        released = self.breaker
        if released.phase is BreakerPhase.HALF_OPEN:
            # The probe got no verdict; let the next admission probe again.
            released = replace(released, probe_started_at=None)
        limiter = self.limiter.settle(now).on_rate_limited(now, cfg.limiter, info)
        return replace(self, breaker=released, limiter=limiter), None

    def on_permanent_failure(
        self, now: float, cfg: ProviderConfig, info: RateLimitInfo
    ) -> tuple[ProviderState, Transition | None]:
        """A request-specific error (400, 422, ...) says nothing about provider health,
        but the provider did answer, so a half-open probe counts as a success."""
        if self.breaker.phase is BreakerPhase.CLOSED:
            return replace(self, limiter=self.limiter.settle(now).observe(now, info)), None
        return self.on_success(now, cfg, info)

    def snapshot(self, now: float, cfg: ProviderConfig) -> dict[str, Any]:
        """Fields of a ``ProviderStateEvent``."""
        next_free = self.limiter.next_allowed_at(now, cfg.limiter)
        return {
            "provider": self.provider,
            "breaker_state": self.breaker.phase.value,
            "open_until": _ts(self.breaker.open_until)
            if self.breaker.phase is BreakerPhase.OPEN
            else None,
            "consecutive_failures": self.breaker.consecutive_failures,
            "requests_in_window": self.limiter.requests_in_window(now, cfg.limiter),
            "tokens_in_window": self.limiter.tokens_in_window(now, cfg.limiter),
            "request_limit": cfg.limiter.max_requests,
            "next_free_at": _ts(next_free) if next_free > now else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "breaker": self.breaker.to_dict(),
            "limiter": self.limiter.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, provider: str) -> ProviderState:
        if not data:
            return cls(provider)
        return cls(
            provider=str(data.get("provider", provider)),
            breaker=Breaker.from_dict(data.get("breaker", {})),
            limiter=Limiter.from_dict(data.get("limiter", {})),
        )
