from __future__ import annotations

from mailroom_ingest.backoff import backoff_delay


def test_delay_doubles_and_is_capped() -> None:
    highs = [backoff_delay(n, base_s=1, max_s=30, rand=lambda: 1.0) for n in range(1, 8)]
    assert highs == [1, 2, 4, 8, 16, 30, 30]


def test_jitter_keeps_at_least_half() -> None:
    lows = [backoff_delay(n, base_s=1, max_s=30, rand=lambda: 0.0) for n in (1, 3, 10)]
    assert lows == [0.5, 2, 15]


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert backoff_delay(10_000, base_s=0.5, max_s=60) <= 60
