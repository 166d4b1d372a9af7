"""Reconnect delays: exponential with jitter, so many workers do not retry in step."""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["backoff_delay"]


def backoff_delay(
    attempt: int,
    *,
    base_s: float,
    max_s: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Delay before reconnect ``attempt`` (1-based): "equal jitter" in [d/2, d].

    ``d`` doubles per attempt from ``base_s`` up to ``max_s``. Keeping half of it fixed
    guarantees the delay grows, while the random half spreads reconnects out.
    """
    exponent = min(max(attempt, 1) - 1, 30)  # 2**30 * base is far past any cap
    ceiling = min(max_s, base_s * float(2**exponent))
    return ceiling / 2 + rand() * ceiling / 2
