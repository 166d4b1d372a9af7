"""Sliding-window, token-aware rate limiter as a pure state machine (``now`` passed in).

Two sources of truth are combined, and the stricter one wins:

* our own window: at most ``max_requests`` (and ``max_tokens``) per ``window_s``, counted
  when a request is *reserved*, i.e. before it is sent;
* what the provider told us: ``x-ratelimit-remaining-*``/``x-ratelimit-reset-*`` on every
  response and ``retry-after`` on a 429.

``margin_s`` pads our window because the provider stamps a request when it *arrives*,
a little after we stamped it; without it the 9th request could land inside its window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "Limiter",
    "LimiterConfig",
    "RateLimitInfo",
    "parse_duration",
    "parse_rate_limit_headers",
]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str | None) -> float | None:
    """Seconds in a Groq reset header ("2m59.56s", "7.66s", "120ms", "1h2m3s", "12")."""
    if text is None:
        return None
    value = text.strip().lower()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    pos = 0
    total = 0.0
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    for match in _DURATION_PART.finditer(value):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * scale[match.group(2)]
        pos = match.end()
    return total if pos == len(value) and pos > 0 else None


def _parse_retry_after(text: str | None, now: float) -> float | None:
    if text is None or not text.strip():
        return None
    seconds = parse_duration(text)
    if seconds is not None:
        return seconds
    try:
        when: datetime = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The provider's rate-limit headers, parsed; absent headers are None."""

    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None
    retry_after_s: float | None = None


def parse_rate_limit_headers(headers: Mapping[str, str], now: float) -> RateLimitInfo:
    lower = {k.lower(): v for k, v in headers.items()}
    return RateLimitInfo(
        remaining_requests=_int(lower.get("x-ratelimit-remaining-requests")),
        reset_requests_s=parse_duration(lower.get("x-ratelimit-reset-requests")),
        remaining_tokens=_int(lower.get("x-ratelimit-remaining-tokens")),
        reset_tokens_s=parse_duration(lower.get("x-ratelimit-reset-tokens")),
        retry_after_s=_parse_retry_after(lower.get("retry-after"), now),
    )


@dataclass(frozen=True, slots=True)
class LimiterConfig:
    max_requests: int = 8
    window_s: float = 60.0
    max_tokens: int | None = None
    margin_s: float = 0.5
    default_backoff_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Limiter:
    # (reserved_at, tokens) of requests still inside the window, oldest first.
    sent: tuple[tuple[float, int], ...] = ()
    blocked_until: float = 0.0
    provider_tokens_remaining: int | None = None
    provider_tokens_reset_at: float = 0.0

    def _live(self, now: float, cfg: LimiterConfig) -> tuple[tuple[float, int], ...]:
        horizon = now - cfg.window_s - cfg.margin_s
        return tuple(e for e in self.sent if e[0] > horizon)

    def pruned(self, now: float, cfg: LimiterConfig) -> Limiter:
        return replace(self, sent=self._live(now, cfg))

    def next_allowed_at(self, now: float, cfg: LimiterConfig, tokens: int = 0) -> float:
        """Earliest time a request of ``tokens`` may be sent (``now`` if it may go now)."""
        live = self._live(now, cfg)
        span = cfg.window_s + cfg.margin_s
        when = max(now, self.blocked_until)
        if len(live) >= cfg.max_requests:
            # The oldest entries must leave until one slot is free.
            when = max(when, live[len(live) - cfg.max_requests][0] + span)
        if cfg.max_tokens is not None:
            used = sum(t for _, t in live)
            for ts, tok in live:
                if used + tokens <= cfg.max_tokens:
                    break
                used -= tok
                when = max(when, ts + span)
        if (
            self.provider_tokens_remaining is not None
            and now < self.provider_tokens_reset_at
            and tokens > self.provider_tokens_remaining
        ):
            when = max(when, self.provider_tokens_reset_at)
        return when

    def reserve(self, now: float, cfg: LimiterConfig, tokens: int) -> Limiter:
        """Count a request that is about to be sent."""
        remaining = self.provider_tokens_remaining
        if remaining is not None and now < self.provider_tokens_reset_at:
            remaining = max(0, remaining - tokens)
        return replace(
            self, sent=(*self._live(now, cfg), (now, tokens)), provider_tokens_remaining=remaining
        )

    def settle(self, now: float) -> Limiter:
        """Re-stamp the newest reservation with the time its response came back.

        The provider stamps a request when it arrives, somewhere between our reservation
        and the response; counting it from the response keeps our window from closing
        before the provider's, whatever the latency (only the desk's one in-flight call
        can be the newest entry).
        """
        if not self.sent or self.sent[-1][0] >= now:
            return self
        *older, (_, tokens) = self.sent
        return replace(self, sent=(*older, (now, tokens)))

    def observe(self, now: float, info: RateLimitInfo) -> Limiter:
        """Follow the provider's own accounting after any response."""
        blocked = self.blocked_until
        if info.remaining_requests is not None and info.remaining_requests <= 0:
            blocked = max(blocked, now + (info.reset_requests_s or 0.0))
        if info.retry_after_s is not None:
            blocked = max(blocked, now + info.retry_after_s)
        tokens_left = self.provider_tokens_remaining
        tokens_reset = self.provider_tokens_reset_at
        if info.remaining_tokens is not None:
            tokens_left = info.remaining_tokens
            tokens_reset = now + (info.reset_tokens_s or 0.0)
        return replace(
            self,
            blocked_until=blocked,
            provider_tokens_remaining=tokens_left,
            provider_tokens_reset_at=tokens_reset,
        )

    def on_rate_limited(self, now: float, cfg: LimiterConfig, info: RateLimitInfo) -> Limiter:
        """A 429: wait as long as the provider said, or the default back-off."""
        observed = self.observe(now, info)
        waits = [
            w
            for w in (
                info.retry_after_s,
                info.reset_requests_s if info.remaining_requests == 0 else None,
                info.reset_tokens_s if info.remaining_tokens == 0 else None,
            )
            if w is not None
        ]
        wait = max(waits) if waits else cfg.default_backoff_s
        return replace(observed, blocked_until=max(observed.blocked_until, now + wait))

    def tokens_in_window(self, now: float, cfg: LimiterConfig) -> int:
        return sum(t for _, t in self._live(now, cfg))

    def requests_in_window(self, now: float, cfg: LimiterConfig) -> int:
        return len(self._live(now, cfg))

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": [list(e) for e in self.sent],
            "blocked_until": self.blocked_until,
            "provider_tokens_remaining": self.provider_tokens_remaining,
            "provider_tokens_reset_at": self.provider_tokens_reset_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limiter:
        return cls(
            sent=tuple((float(ts), int(tok)) for ts, tok in data.get("sent", [])),
            blocked_until=float(data.get("blocked_until", 0.0)),
            provider_tokens_remaining=data.get("provider_tokens_remaining"),
            provider_tokens_reset_at=float(data.get("provider_tokens_reset_at", 0.0)),
        )
