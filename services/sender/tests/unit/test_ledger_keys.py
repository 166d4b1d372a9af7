"""Advisory-lock keys of the loop guards: stable across processes, ordered, namespaced."""

from __future__ import annotations

from mailroom_sender.ledger import guard_lock_keys


def test_keys_are_deterministic_signed_64_bit_and_ascending() -> None:
    keys = guard_lock_keys("ana@example.com", "thread-1")
    assert keys == guard_lock_keys("ana@example.com", "thread-1")
    assert keys == sorted(keys)  # one global order: two claims never wait in a cycle
    assert all(-(2**63) <= k < 2**63 for k in keys)


def test_recipient_and_thread_live_in_different_namespaces() -> None:
    # The same text as address and as thread key must not collapse into one lock.
    both = guard_lock_keys("x@example.com", "x@example.com")
    assert len(both) == 2
    only_recipient = guard_lock_keys("x@example.com", None)
    assert len(only_recipient) == 1
    assert only_recipient[0] in both
    assert guard_lock_keys("y@example.com", None) != only_recipient
