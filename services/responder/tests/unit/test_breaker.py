"""Circuit breaker: every transition, with time passed in."""

from __future__ import annotations

import pytest

from mailroom_responder.breaker import Breaker, BreakerConfig, BreakerPhase

CFG = BreakerConfig(failure_threshold=3, cooldown_s=120.0, probe_timeout_s=60.0)


def fail(b: Breaker, now: float) -> Breaker:
    return b.on_failure(now, CFG)[0]


def test_closed_admits_and_counts_failures_below_threshold() -> None:
    b = Breaker()
    for i in range(2):
        b, t = b.on_failure(float(i), CFG)
        assert t is None
        assert b.phase is BreakerPhase.CLOSED
        assert b.admit(float(i), CFG)[1].allowed
    assert b.consecutive_failures == 2


def test_third_consecutive_failure_opens_for_cooldown() -> None:
    b = fail(fail(Breaker(), 0), 1)
    b, t = b.on_failure(2.0, CFG)
    assert t is not None
    assert (t.source, t.target) == (BreakerPhase.CLOSED, BreakerPhase.OPEN)
    assert b.phase is BreakerPhase.OPEN
    assert b.open_until == 122.0
    same, adm = b.admit(121.9, CFG)
    assert not adm.allowed
    assert adm.wait_until == 122.0
    assert same == b


def test_success_resets_the_count() -> None:
    b = fail(fail(Breaker(), 0), 1)
    b, t = b.on_success(2, CFG)
    assert t is None
    assert b == Breaker()
    b = fail(fail(b, 3), 4)
    assert b.phase is BreakerPhase.CLOSED


def _opened() -> Breaker:
    return fail(fail(fail(Breaker(), 0), 0), 0)  # open until 120


def test_after_cooldown_exactly_one_probe() -> None:
    b, adm = _opened().admit(120.0, CFG)
    assert adm.allowed
    assert adm.transition is not None
    assert adm.transition.target is BreakerPhase.HALF_OPEN
    assert b.phase is BreakerPhase.HALF_OPEN
    again, adm2 = b.admit(121.0, CFG)
    assert not adm2.allowed
    assert adm2.wait_until == 180.0
    assert again == b


def test_probe_success_closes() -> None:
    b, _ = _opened().admit(130.0, CFG)
    b, t = b.on_success(131.0, CFG)
    assert t is not None
    assert (t.source, t.target) == (BreakerPhase.HALF_OPEN, BreakerPhase.CLOSED)
    assert b == Breaker()


def test_probe_failure_reopens_for_a_new_cooldown() -> None:
    b, _ = _opened().admit(130.0, CFG)
    b, t = b.on_failure(131.0, CFG)
    assert t is not None
    assert (t.source, t.target) == (BreakerPhase.HALF_OPEN, BreakerPhase.OPEN)
    assert b.open_until == 251.0
    assert not b.admit(250.0, CFG)[1].allowed
    assert b.admit(251.0, CFG)[1].allowed


def test_lost_probe_is_retried_after_probe_timeout() -> None:
    b, _ = _opened().admit(130.0, CFG)  # the prober's worker dies
    b2, adm = b.admit(190.0, CFG)
    assert adm.allowed
    assert adm.transition is None
    assert b2.probe_started_at == 190.0


def test_late_failure_while_open_keeps_it_open() -> None:
    b = _opened()
    b2, t = b.on_failure(5.0, CFG)
    assert t is None
    assert b2.phase is BreakerPhase.OPEN
    assert b2.open_until == b.open_until


def test_late_success_while_open_closes() -> None:
    b, t = _opened().on_success(5.0, CFG)
    assert b.phase is BreakerPhase.CLOSED
    assert t is not None


@pytest.mark.parametrize("phase", list(BreakerPhase))
def test_round_trip_through_table_value(phase: BreakerPhase) -> None:
    b = Breaker(phase, 4, 99.5, 12.0)
    assert Breaker.from_dict(b.to_dict()) == b
