"""The stall watchdog's decision (pure): which partitions to seek back to their commits."""

from __future__ import annotations

from faust.types import TP

from mailroom_responder.consumer import PartitionWatch, stalled

P0 = TP("mail.inbound", 0)
P1 = TP("mail.inbound", 1)


def test_a_caught_up_partition_is_never_stalled() -> None:
    watches, stuck = stalled({}, {P0: (41, 42, False)}, now=0.0, stall_s=30)
    assert (watches, stuck) == ({}, [])
    watches, stuck = stalled({}, {P0: (None, 10, False)}, now=0.0, stall_s=30)
    assert (watches, stuck) == ({}, [])


def test_waiting_records_without_progress_for_stall_s_are_a_stall() -> None:
    watches, stuck = stalled({}, {P0: (10, 15, False)}, now=100.0, stall_s=30)
    assert stuck == []
    assert watches[P0] == PartitionWatch(10, 100.0)
    watches, stuck = stalled(watches, {P0: (10, 15, False)}, now=129.0, stall_s=30)
    assert stuck == []
    watches, stuck = stalled(watches, {P0: (10, 15, False)}, now=130.0, stall_s=30)
    assert stuck == [P0]
    assert P0 not in watches


def test_progress_restarts_the_clock() -> None:
    watches, _ = stalled({}, {P0: (10, 15, False)}, now=100.0, stall_s=30)
    watches, stuck = stalled(watches, {P0: (12, 15, False)}, now=125.0, stall_s=30)
    assert stuck == []
    assert watches[P0] == PartitionWatch(12, 125.0)
    watches, stuck = stalled(watches, {P0: (12, 15, False)}, now=150.0, stall_s=30)
    assert stuck == []


def test_a_partition_with_a_message_in_progress_is_left_alone() -> None:
    # e.g. the provider desk holding an LLM request while the limiter makes it wait
    watches, _ = stalled({}, {P0: (10, 15, False)}, now=100.0, stall_s=30)
    watches, stuck = stalled(watches, {P0: (10, 15, True)}, now=200.0, stall_s=30)
    assert (watches, stuck) == ({}, [])


def test_partitions_are_judged_separately() -> None:
    obs = {P0: (10, 15, False), P1: (3, 4, False)}
    watches, _ = stalled({}, obs, now=0.0, stall_s=5)
    watches, stuck = stalled(watches, obs, now=5.0, stall_s=5)
    assert stuck == [P0]
    assert watches == {}
