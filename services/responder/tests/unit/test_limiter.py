"""Rate limiter: sliding window, tokens, provider headers, 429s."""

from __future__ import annotations

import pytest

from mailroom_responder.limiter import (
    Limiter,
    LimiterConfig,
    RateLimitInfo,
    parse_duration,
    parse_rate_limit_headers,
)

CFG = LimiterConfig(max_requests=8, window_s=60.0, margin_s=0.5, default_backoff_s=30.0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2m59.56s", 179.56),
        ("7.66s", 7.66),
        ("120ms", 0.12),
        ("1h2m3s", 3723.0),
        ("0s", 0.0),
        ("12", 12.0),
        ("1.5", 1.5),
        ("", None),
        ("soon", None),
        ("3x", None),
        (None, None),
    ],
)
def test_parse_duration(text: str | None, seconds: float | None) -> None:
    result = parse_duration(text)
    if seconds is None:
        assert result is None
    else:
        assert result == pytest.approx(seconds)


def test_parse_headers_case_insensitive_and_http_date_retry_after() -> None:
    info = parse_rate_limit_headers(
        {
            "X-RateLimit-Remaining-Requests": "0",
            "x-ratelimit-reset-requests": "2m59.56s",
            "x-ratelimit-remaining-tokens": "5000",
            "x-ratelimit-reset-tokens": "7.66s",
            "Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT",
        },
        now=40.0,
    )
    assert info == RateLimitInfo(0, pytest.approx(179.56), 5000, pytest.approx(7.66), 60.0)


def test_eight_per_window_then_wait_for_oldest_plus_margin() -> None:
    lim = Limiter()
    for i in range(8):
        assert lim.next_allowed_at(float(i), CFG) == float(i)
        lim = lim.reserve(float(i), CFG, 10)
    assert lim.next_allowed_at(8.0, CFG) == pytest.approx(60.5)
    assert lim.requests_in_window(8.0, CFG) == 8
    assert lim.tokens_in_window(8.0, CFG) == 80
    # Once the oldest leaves, exactly one more fits.
    lim = lim.reserve(60.5, CFG, 10)
    assert lim.next_allowed_at(60.5, CFG) == pytest.approx(61.5)


def test_window_never_exceeded_under_any_arrival_pattern() -> None:
    lim = Limiter()
    sent: list[float] = []
    now = 0.0
    while now < 600:
        at = lim.next_allowed_at(now, CFG)
        if at <= now:
            lim = lim.reserve(now, CFG, 1)
            sent.append(now)
        now += 0.37
    for t in sent:
        assert sum(1 for s in sent if t <= s < t + 60.0) <= 8
    # and the rate is actually used (≥ 95 % of 8/min)
    assert len(sent) >= 0.95 * 8 * 10


def test_token_budget() -> None:
    cfg = LimiterConfig(max_requests=100, window_s=60.0, max_tokens=1000, margin_s=0.0)
    lim = Limiter().reserve(0.0, cfg, 600).reserve(10.0, cfg, 300)
    assert lim.next_allowed_at(11.0, cfg, 100) == 11.0
    assert lim.next_allowed_at(11.0, cfg, 200) == 60.0  # first entry must expire
    assert lim.next_allowed_at(11.0, cfg, 950) == 70.0


def test_provider_says_no_requests_left_blocks_until_reset() -> None:
    lim = Limiter().observe(100.0, RateLimitInfo(remaining_requests=0, reset_requests_s=7.66))
    assert lim.next_allowed_at(100.0, CFG) == pytest.approx(107.66)
    lim2 = Limiter().observe(100.0, RateLimitInfo(remaining_requests=3, reset_requests_s=7.66))
    assert lim2.next_allowed_at(100.0, CFG) == 100.0


def test_provider_token_budget() -> None:
    lim = Limiter().observe(0.0, RateLimitInfo(remaining_tokens=500, reset_tokens_s=20.0))
    assert lim.next_allowed_at(1.0, CFG, 400) == 1.0
    assert lim.next_allowed_at(1.0, CFG, 600) == 20.0
    lim = lim.reserve(1.0, CFG, 400)  # 100 left until the reset
    assert lim.next_allowed_at(2.0, CFG, 200) == 20.0
    assert lim.next_allowed_at(20.0, CFG, 200) == 20.0


def test_429_obeys_retry_after() -> None:
    lim = Limiter().on_rate_limited(10.0, CFG, RateLimitInfo(retry_after_s=42.0))
    assert lim.next_allowed_at(10.0, CFG) == 52.0


def test_429_uses_the_longest_hint() -> None:
    info = RateLimitInfo(
        remaining_requests=0, reset_requests_s=59.0, retry_after_s=3.0, remaining_tokens=10
    )
    lim = Limiter().on_rate_limited(0.0, CFG, info)
    assert lim.next_allowed_at(0.0, CFG) == 59.0


def test_429_without_headers_uses_default_backoff() -> None:
    lim = Limiter().on_rate_limited(5.0, CFG, RateLimitInfo())
    assert lim.next_allowed_at(5.0, CFG) == 35.0


def test_round_trip() -> None:
    lim = (
        Limiter()
        .reserve(1.0, CFG, 5)
        .observe(2.0, RateLimitInfo(remaining_requests=0, reset_requests_s=3, remaining_tokens=9))
    )
    assert Limiter.from_dict(lim.to_dict()) == lim


def test_settle_counts_a_request_from_its_response() -> None:
    lim = Limiter().reserve(0.0, CFG, 5)
    settled = lim.settle(2.5)
    assert settled.sent == ((2.5, 5),)
    assert settled.settle(1.0) == settled  # never moves back
    assert Limiter().settle(3.0) == Limiter()
    full = Limiter()
    for i in range(8):
        full = full.reserve(float(i), CFG, 1).settle(i + 0.3)
    assert full.next_allowed_at(8.0, CFG) == pytest.approx(60.8)
