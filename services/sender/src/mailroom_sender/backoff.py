"""Retry delays for temporary SMTP failures (4xx replies, refused connections)."""

from __future__ import annotations

import random

__all__ = ["retry_delay"]


def retry_delay(
    attempt: int,
    *,
    base_s: float,
    max_s: float,
    jitter: float = 0.0,
    rng: random.Random | None = None,
) -> float:
    """Delay before retry number ``attempt`` (1 = first retry): base·2^(n-1), capped.

    Jitter spreads retries of many messages that failed together, so a recovering server
    is not hit by all of them in the same second.
    """
    exponent = max(0, attempt - 1)
    delay = min(max_s, base_s * (2 ** min(exponent, 32)))
    if jitter:
        delay += delay * jitter * (rng or random).random()
    return float(min(delay, max_s * (1 + jitter)))
