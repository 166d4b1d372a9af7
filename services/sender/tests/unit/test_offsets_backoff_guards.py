from __future__ import annotations

import random

import pytest

from mailroom_sender.backoff import retry_delay
from mailroom_sender.guards import GuardInput, GuardLimits, guard_reason
from mailroom_sender.offsets import OffsetTracker

TP = ("mail.outbound", 0)


def test_commit_stops_at_oldest_unfinished_record() -> None:
    t = OffsetTracker()
    for off in range(10, 15):
        t.started(TP, off)
    assert t.committable() == {TP: 10}
    t.finished(TP, 11)
    t.finished(TP, 12)
    assert t.committable() == {TP: 10}  # 10 still parked for a retry
    t.finished(TP, 10)
    assert t.committable() == {TP: 13}
    t.mark_committed({TP: 13})
    assert t.committable() == {}
    t.finished(TP, 13)
    t.finished(TP, 14)
    assert t.committable() == {TP: 15}
    assert t.pending() == 0


def test_forget_drops_revoked_partition() -> None:
    t = OffsetTracker()
    t.started(TP, 1)
    t.started(("x", 1), 7)
    t.forget([TP])
    assert t.committable() == {("x", 1): 7}
    assert not t.is_tracked(TP, 1)


def test_backoff_doubles_and_caps() -> None:
    delays = [retry_delay(n, base_s=2, max_s=60) for n in range(1, 8)]
    assert delays == [2, 4, 8, 16, 32, 60, 60]


def test_backoff_jitter_stays_within_share() -> None:
    rng = random.Random(1)
    for n in range(1, 10):
        d = retry_delay(n, base_s=1, max_s=30, jitter=0.2, rng=rng)
        plain = min(30, 2 ** (n - 1))
        assert plain <= d <= plain * 1.2


LIMITS = GuardLimits(per_recipient=3, per_thread=3, window_s=86400)
OWN = frozenset({"shop@mailroom.test"})


def facts(**kw: object) -> GuardInput:
    base: dict[str, object] = {
        "kind": "reply",
        "recipient": "ana@cliente.com",
        "own_addresses": OWN,
        "suppressed_reason": None,
        "recent_to_recipient": 0,
        "recent_in_thread": 0,
    }
    base.update(kw)
    return GuardInput(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, None),
        ({"recent_to_recipient": 2}, None),
        ({"recent_to_recipient": 3}, "recipient cap"),
        ({"recent_in_thread": 3}, "thread cap"),
        ({"suppressed_reason": "hard bounce"}, "suppressed: hard bounce"),
        ({"recipient": "Shop@Mailroom.test"}, "shop's own"),
        ({"kind": "transactional", "recent_to_recipient": 99}, None),
        ({"kind": "transactional", "suppressed_reason": "bounce"}, "suppressed"),
        ({"kind": "holding", "recent_to_recipient": 3}, "recipient cap"),
        # A holding reply leaves room for the answer it announces.
        ({"kind": "holding", "recent_to_recipient": 1, "recent_in_thread": 1}, None),
        ({"kind": "holding", "recent_to_recipient": 2}, "recipient cap"),
        ({"kind": "holding", "recent_in_thread": 2}, "thread cap"),
        ({"kind": "reply", "recent_to_recipient": 2, "recent_in_thread": 2}, None),
    ],
)
def test_guard_reasons(kw: dict[str, object], expected: str | None) -> None:
    reason = guard_reason(facts(**kw), LIMITS)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None
        assert expected in reason
