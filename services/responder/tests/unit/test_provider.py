"""Breaker and limiter together, as the provider desk sees them."""

from __future__ import annotations

from mailroom_responder.breaker import BreakerConfig, BreakerPhase
from mailroom_responder.limiter import LimiterConfig, RateLimitInfo
from mailroom_responder.provider import ProviderConfig, ProviderState

CFG = ProviderConfig(
    BreakerConfig(failure_threshold=3, cooldown_s=10.0, probe_timeout_s=5.0),
    LimiterConfig(max_requests=2, window_s=60.0, margin_s=0.0),
)
NONE = RateLimitInfo()


def test_admit_reserves_a_slot() -> None:
    s = ProviderState("groq")
    s, gate = s.admit(0.0, CFG, 10)
    assert gate.go
    s, gate = s.admit(1.0, CFG, 10)
    assert gate.go
    s2, gate = s.admit(2.0, CFG, 10)
    assert not gate.go
    assert gate.reason == "rate_limit"
    assert gate.wait_until == 60.0
    assert s2 == s


def test_open_breaker_blocks_and_does_not_use_slots() -> None:
    s = ProviderState("groq")
    for t in range(3):
        s, _ = s.on_transient_failure(float(t), CFG, NONE)
    assert s.breaker.phase is BreakerPhase.OPEN
    s2, gate = s.admit(3.0, CFG, 10)
    assert not gate.go
    assert gate.reason == "breaker_open"
    assert gate.wait_until == 12.0
    assert s2.limiter.requests_in_window(3.0, CFG.limiter) == 0


def test_probe_not_taken_while_limiter_says_no() -> None:
    s = ProviderState("groq")
    s, _ = s.admit(0.0, CFG, 1)
    s, _ = s.admit(0.0, CFG, 1)
    for t in range(3):
        s, _ = s.on_transient_failure(float(t), CFG, NONE)
    s2, gate = s.admit(20.0, CFG, 1)  # cool-down over but no slot until 60
    assert not gate.go
    assert gate.reason == "rate_limit"
    assert s2.breaker.phase is BreakerPhase.OPEN
    s3, gate = s.admit(60.0, CFG, 1)
    assert gate.go
    assert gate.transition is not None
    assert s3.breaker.phase is BreakerPhase.HALF_OPEN


def test_rate_limited_probe_is_released() -> None:
    s = ProviderState("groq")
    for t in range(3):
        s, _ = s.on_transient_failure(float(t), CFG, NONE)
    s, gate = s.admit(20.0, CFG, 1)
    assert gate.go
    assert s.breaker.phase is BreakerPhase.HALF_OPEN
    s, _ = s.on_rate_limited(20.5, CFG, RateLimitInfo(retry_after_s=2.0))
    s, gate = s.admit(22.5, CFG, 1)
    assert gate.go  # a new probe, not "probe in flight"


def test_permanent_error_does_not_count_as_failure() -> None:
    s = ProviderState("groq")
    for t in range(5):
        s, _ = s.on_permanent_failure(float(t), CFG, NONE)
    assert s.breaker.phase is BreakerPhase.CLOSED
    assert s.breaker.consecutive_failures == 0


def test_snapshot_and_round_trip() -> None:
    s = ProviderState("groq")
    for t in range(3):
        s, _ = s.on_transient_failure(float(t), CFG, NONE)
    snap = s.snapshot(3.0, CFG)
    assert snap["breaker_state"] == "open"
    assert snap["open_until"] is not None
    assert snap["open_until"].timestamp() == 12.0
    assert snap["request_limit"] == 2
    assert ProviderState.from_dict(s.to_dict(), "groq") == s
    assert ProviderState.from_dict(None, "groq") == ProviderState("groq")
