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
  epoch and seeks again (aiokafka and the read offsets both back to the committed offsets),
  so whatever that batch held is fetched again instead of being skipped or gap-acked.

A record processed just before a seek may be processed twice; every outcome is idempotent
downstream (event ids, the LLM done-table, the sender's ledger).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

__all__ = ["SeekSafeConsumer", "SeekSafeTransport"]


class SeekSafeConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, made safe against seeks racing the fetcher."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seek_epoch = 0

    async def perform_seek(self) -> None:
        if self.flow_active:
            # Callers resume the flow once the seek and the queue clearing are done.
            self.stop_flow()
        await self._seek_to_committed()

    async def _seek_to_committed(self) -> None:
        # Bumped on both sides: a batch requested before or during the seek is stale.
        self._seek_epoch += 1
        await super().perform_seek()
        self._seek_epoch += 1

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


class SeekSafeTransport(faust_aiokafka.Transport):
    Consumer = SeekSafeConsumer
