"""A Faust consumer that cannot skip records when it seeks while fetching.

faust-streaming 0.15.3 finishes table recovery like this (``Recovery.on_recovery_completed``):
resume the stream partitions, seek them to their committed offsets, then resume flow
control, which clears every agent's input queue. The fetcher keeps running throughout, so:

1. records fetched between "resume" and the end of the seek are put into agent queues and
   then cleared: never processed, never acknowledged;
2. a batch requested before the seek is still handed out after it. The seek reset the read
   offset to the committed one, so the next record of that batch looks like a jump ahead and
   ``Consumer._drain_messages`` records the skipped offsets as a *gap*, which Faust treats
   as acknowledged and commits: those emails are lost for good;
3. the read offset of that batch then makes the re-fetched records look old and the drain
   loop drops them, while aiokafka's own position has moved past them: the partition stalls
   until the next restart.

Measured before this module: one restart in two or three with a backlog lost or stalled
mail (``tests/integration/test_restarts.py``). The fix:

* a seek first stops the consumer's flow, so nothing more is fetched or handed to agents
  until the caller resumes it, which every caller of ``perform_seek`` does *after* flow
  control has cleared the queues (Faust's own ``getmany`` drops a batch once the flow stops);
* every seek starts a new *epoch*. ``getmany`` abandons a batch requested in an earlier
  epoch and seeks again (aiokafka and the read offsets both back to the committed offsets,
  or to the beginning for a partition with no commit yet, since the app reads from the
  earliest offset), so whatever that batch held is fetched again instead of being skipped
  or gap-acked.

A record processed just before a seek may be processed twice; every outcome is idempotent
downstream (event ids, the LLM done-table, the sender's ledger).

A watchdog backs this up (``RESPONDER_STALL_RESEEK_S``): a stream partition that has records
waiting past its read offset, none of its messages in progress, and has not advanced for that
long is sought back to its committed offset, so a stall of any other origin heals by itself.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from mode import Service

from mailroom_common.logging import get_logger

__all__ = ["PartitionWatch", "SeekSafeConsumer", "SeekSafeTransport", "stalled"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PartitionWatch:
    """What the watchdog last saw of one partition."""

    read_offset: int
    since: float  # when read_offset last changed, or records started waiting


def stalled(
    watches: Mapping[TP, PartitionWatch],
    observed: Mapping[TP, tuple[int | None, int | None, bool]],
    now: float,
    stall_s: float,
) -> tuple[dict[TP, PartitionWatch], list[TP]]:
    """Which partitions are stalled, and the watches to keep (pure).

    ``observed`` maps a partition to (read offset, high watermark, a message of it is being
    processed). A partition waits when the high watermark is past the record after the read
    offset; it is stalled when it has waited, idle and without progress, for ``stall_s``.
    """
    kept: dict[TP, PartitionWatch] = {}
    stuck: list[TP] = []
    for tp, (read, highwater, busy) in observed.items():
        if read is None or highwater is None or highwater <= read + 1 or busy:
            continue
        watch = watches.get(tp)
        if watch is None or watch.read_offset != read:
            kept[tp] = PartitionWatch(read, now)
        elif now - watch.since >= stall_s:
            stuck.append(tp)
        else:
            kept[tp] = watch
    return kept, stuck


class SeekSafeConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, made safe against seeks racing the fetcher."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seek_epoch = 0
        self._watches: dict[TP, PartitionWatch] = {}

    async def perform_seek(self) -> None:
        if self.flow_active:
            # Callers resume the flow once the seek and the queue clearing are done.
            self.stop_flow()
        await self._seek_to_committed()

    async def _seek_to_committed(self) -> None:
        # Bumped on both sides: a batch requested before or during the seek is stale.
        self._seek_epoch += 1
        await super().perform_seek()
        # aiokafka leaves a partition with no commit where the fetcher left it, possibly past
        # records dropped above; the app reads from the earliest offset, so start there.
        never_committed = [
            tp for tp in self._stream_partitions() if self._read_offset.get(tp) is None
        ]
        if never_committed:
            # An explicit offset, not aiokafka's seek_to_beginning: that leaves the position
            # unset for a while, and Faust's livelock detector asserts on it.
            earliest = await self.earliest_offsets(*never_committed)
            await self.seek_wait({tp: earliest[tp] for tp in never_committed})
        self._seek_epoch += 1

    def _stream_partitions(self) -> list[TP]:
        """Assigned partitions of the topics agents read (not the tables' changelogs)."""
        changelogs = self.app.tables.changelog_topics
        return [tp for tp in self.assignment() if tp.topic not in changelogs]

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:  # noqa: ASYNC109
        epoch = self._seek_epoch
        async for tp, message in super().getmany(timeout):
            if self._seek_epoch != epoch:
                break
            yield tp, message
        if self._seek_epoch != epoch:
            # Part of this batch was dropped, and the drain loop may have stored a stale read
            # offset, while aiokafka's position is past it: start again from the commits.
            await self._seek_to_committed()

    @Service.task
    async def _stall_watchdog(self) -> None:
        stall_s = float(getattr(self.transport, "stall_reseek_s", 0.0))
        if stall_s <= 0:
            return
        while not self.should_stop:
            await self.sleep(min(stall_s / 3, 5.0))
            if not self.flow_active or self.app.rebalancing:
                self._watches.clear()
                continue
            await self._reseek_stalled(stall_s)

    async def _reseek_stalled(self, stall_s: float) -> None:
        busy = {m.tp for m in self._unacked_messages}
        observed = {
            tp: (self._read_offset.get(tp), self.highwater(tp), tp in busy)
            for tp in self._stream_partitions()
        }
        self._watches, stuck = stalled(self._watches, observed, time.monotonic(), stall_s)
        if stuck:
            log.warning(
                "consumer.stall_reseek",
                partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in stuck),
                stall_s=stall_s,
            )
            await self._seek_to_committed()


class SeekSafeTransport(faust_aiokafka.Transport):
    Consumer = SeekSafeConsumer
    stall_reseek_s: float = 0.0  # set per app from RESPONDER_STALL_RESEEK_S
