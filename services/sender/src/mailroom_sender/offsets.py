"""Which Kafka offsets are safe to commit while records finish out of order.

Records of one partition are handed to several workers and some wait minutes for an SMTP
retry, so they finish in any order. A partition's committed offset may only move past a
record once that record *and every earlier one* is finished; otherwise a crash would skip
the unfinished record. This tracker holds, per partition, the offsets still in progress
and answers "what can I commit now?". Pure: no Kafka calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["OffsetTracker"]

TopicPartitionKey = tuple[str, int]


@dataclass
class _PartitionState:
    in_progress: set[int] = field(default_factory=set)
    highest_seen: int = -1
    committed: int = -1  # next offset to read, as last committed; -1 = never


class OffsetTracker:
    def __init__(self) -> None:
        self._parts: dict[TopicPartitionKey, _PartitionState] = {}

    def started(self, tp: TopicPartitionKey, offset: int) -> None:
        state = self._parts.setdefault(tp, _PartitionState())
        state.in_progress.add(offset)
        state.highest_seen = max(state.highest_seen, offset)

    def finished(self, tp: TopicPartitionKey, offset: int) -> None:
        state = self._parts.get(tp)
        if state is not None:
            state.in_progress.discard(offset)

    def is_tracked(self, tp: TopicPartitionKey, offset: int) -> bool:
        state = self._parts.get(tp)
        return state is not None and offset in state.in_progress

    def committable(self) -> dict[TopicPartitionKey, int]:
        """Partition -> next offset to commit, only where it moved since the last commit."""
        out: dict[TopicPartitionKey, int] = {}
        for tp, state in self._parts.items():
            if state.highest_seen < 0:
                continue
            # Everything below the oldest unfinished record is done.
            target = min(state.in_progress) if state.in_progress else state.highest_seen + 1
            if target > state.committed:
                out[tp] = target
        return out

    def mark_committed(self, offsets: dict[TopicPartitionKey, int]) -> None:
        for tp, offset in offsets.items():
            state = self._parts.get(tp)
            if state is not None:
                state.committed = max(state.committed, offset)

    def pending(self, tp: TopicPartitionKey | None = None) -> int:
        if tp is not None:
            state = self._parts.get(tp)
            return len(state.in_progress) if state else 0
        return sum(len(s.in_progress) for s in self._parts.values())

    def forget(self, tps: list[TopicPartitionKey]) -> None:
        """Drop revoked partitions: their unfinished records go to the next owner."""
        for tp in tps:
            self._parts.pop(tp, None)
