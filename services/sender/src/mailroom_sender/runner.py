"""The sender's consume loop: workers, parked retries and safe offset commits.

* Records are spread over ``concurrency`` workers by record key, so the mail of one
  thread goes out in order while different threads go out in parallel; each worker owns
  one SMTP connection.
* A temporary SMTP failure parks the record in an in-process schedule (a heap by due
  time). Its offset stays uncommitted: the :class:`OffsetTracker` commits a partition only
  up to its oldest unfinished record, so a crash while mail is parked re-reads it (and the
  ledger skips what was already finished). Fetching pauses when too many records are
  unfinished, which bounds memory while the SMTP server is down.
* On a rebalance the sender stops taking new work for the revoked partitions, waits for
  the messages already inside an SMTP transaction, commits, and forgets the rest — parked
  records are ``pending`` in the ledger and the partition's next owner sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from mailroom_common.events import (
    DraftAction,
    EventDecodeError,
    OutboundEmail,
    TransactionalRequest,
    utcnow,
)
from mailroom_common.kafka import decode_record
from mailroom_common.logging import get_logger
from mailroom_common.topics import ALERTS, DEAD_LETTER

from .handler import MessageHandler
from .ledger import Ledger
from .offsets import OffsetTracker
from .outcomes import alert, dead_letter
from .publisher import KafkaPublisher, collect_acks
from .smtp import SmtpConfig, SmtpConnection
from .work import Done, Retry, Target, Work

__all__ = ["SenderRunner"]

log = get_logger(__name__)
tracer = trace.get_tracer("mailroom_sender")

_FETCH_TIMEOUT_MS = 200
_FETCH_MAX_RECORDS = 500


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: SenderRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._runner.on_revoked([(tp.topic, tp.partition) for tp in revoked])

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._runner.on_assigned([(tp.topic, tp.partition) for tp in assigned])


class SenderRunner:
    def __init__(
        self,
        *,
        consumer: Any,
        publisher: KafkaPublisher,
        handler: MessageHandler,
        ledger: Ledger,
        smtp_config: SmtpConfig,
        concurrency: int,
        max_in_flight: int,
        commit_interval_s: float,
        stale_sending_after_s: float,
        topic_names: tuple[str, ...],
        smtp_factory: Callable[[SmtpConfig], SmtpConnection] = SmtpConnection,
        sweep_on_start: bool = True,
    ) -> None:
        self._sweep_on_start = sweep_on_start
        self._consumer = consumer
        self._pub = publisher
        self._handler = handler
        self._ledger = ledger
        self._concurrency = concurrency
        self._max_in_flight = max_in_flight
        self._commit_interval = commit_interval_s
        self._stale_after = stale_sending_after_s
        self._topics = topic_names
        self._tracker = OffsetTracker()
        self._queues: list[asyncio.Queue[Work]] = [asyncio.Queue() for _ in range(concurrency)]
        self._smtp = [smtp_factory(smtp_config) for _ in range(concurrency)]
        self._parked: list[tuple[float, int, Work]] = []
        self._seq = itertools.count()
        self._epochs: dict[tuple[str, int], int] = {}
        self._busy: dict[int, Work] = {}
        self._progress = asyncio.Event()  # set whenever a worker finishes an item
        self._acking: set[asyncio.Task[None]] = set()
        self._paused = False
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = False

    # --- rebalance ------------------------------------------------------------------------
    def on_assigned(self, tps: list[tuple[str, int]]) -> None:
        for tp in tps:
            self._epochs[tp] = self._epochs.get(tp, 0) + 1
        log.info("sender.assigned", partitions=len(tps))

    async def on_revoked(self, tps: list[tuple[str, int]]) -> None:
        revoked = set(tps)
        for tp in revoked:
            # Queued and parked work of an older epoch is dropped by the workers.
            self._epochs[tp] = self._epochs.get(tp, 0) + 1
        await self._wait_until(lambda: not any(w.tp in revoked for w in self._busy.values()), 60)
        await self._wait_until(lambda: not self._acking, 30)
        await self._commit(only=revoked)
        self._tracker.forget(list(revoked))
        self._parked = [p for p in self._parked if p[2].tp not in revoked]
        heapq.heapify(self._parked)

    async def _wait_until(self, done: Callable[[], bool], timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not done():
            self._progress.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), remaining)

    def _current(self, work: Work) -> bool:
        return self._epochs.get(work.tp, 0) == work.epoch

    # --- offsets ---------------------------------------------------------------------------
    async def _commit(self, only: set[tuple[str, int]] | None = None) -> None:
        offsets = self._tracker.committable()
        if only is not None:
            offsets = {tp: o for tp, o in offsets.items() if tp in only}
        if not offsets:
            return
        try:
            await self._consumer.commit(
                {TopicPartition(t, p): OffsetAndMetadata(o, "") for (t, p), o in offsets.items()}
            )
        except Exception as exc:
            log.warning("sender.commit_failed", error=str(exc)[:200])
            return
        self._tracker.mark_committed(offsets)

    # --- workers ---------------------------------------------------------------------------
    async def _worker(self, index: int) -> None:
        queue = self._queues[index]
        smtp = self._smtp[index]
        try:
            while True:
                work = await queue.get()
                if self._stopping or not self._current(work):
                    continue
                work.extra["smtp"] = smtp
                self._busy[index] = work
                acks: list[asyncio.Future[Any]] = []
                try:
                    with collect_acks() as acks:
                        verdict = await self._process(work)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.exception("sender.handler_error", error=str(exc)[:200])
                    work.attempts += 1
                    verdict = Retry(min(60.0, 2.0**work.attempts), str(exc))
                finally:
                    self._busy.pop(index, None)
                    self._progress.set()
                if isinstance(verdict, Done) and acks:
                    self._acking.add(asyncio.create_task(self._finish_when_acked(work, acks)))
                elif isinstance(verdict, Done):
                    self._tracker.finished(work.tp, work.offset)
                else:
                    self._park(work, verdict.delay_s)
        finally:
            await smtp.close()

    async def _process(self, work: Work) -> Done | Retry:
        ctx = work.extra.get("ctx")
        token = otel_context.attach(ctx) if ctx is not None else None
        try:
            with tracer.start_as_current_span(
                f"{work.topic} process", kind=SpanKind.CONSUMER
            ) as span:
                span.set_attribute("messaging.system", "kafka")
                span.set_attribute("messaging.operation", "process")
                span.set_attribute("messaging.destination.name", work.topic)
                span.set_attribute("messaging.kafka.destination.partition", work.partition)
                span.set_attribute("messaging.kafka.message.offset", work.offset)
                if work.key is not None:
                    span.set_attribute("messaging.kafka.message.key", work.key)
                return await self._handler.handle(work)
        finally:
            if token is not None:
                otel_context.detach(token)

    async def _finish_when_acked(self, work: Work, acks: list[asyncio.Future[Any]]) -> None:
        """Mark the record done once the broker has its events; otherwise process it again
        (the ledger skips the send and the events are repeated with the same ids)."""
        try:
            await asyncio.gather(*acks)
        except Exception as exc:
            log.warning("sender.event_publish_failed", error=str(exc)[:200])
            self._park(work, 1.0)
        else:
            self._tracker.finished(work.tp, work.offset)
        finally:
            self._acking.discard(asyncio.current_task())
            self._progress.set()

    def _park(self, work: Work, delay_s: float) -> None:
        due = asyncio.get_running_loop().time() + delay_s
        heapq.heappush(self._parked, (due, next(self._seq), work))

    async def _scheduler(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._parked and self._parked[0][0] <= now:
                _, _, work = heapq.heappop(self._parked)
                if self._current(work):
                    self._dispatch(work)
            wait = min(0.25, self._parked[0][0] - now) if self._parked else 0.25
            await asyncio.sleep(max(wait, 0.01))

    def _dispatch(self, work: Work) -> None:
        slot = zlib.crc32((work.key or str(work.offset)).encode()) % self._concurrency
        self._queues[slot].put_nowait(work)

    # --- intake -----------------------------------------------------------------------------
    async def _accept(self, record: Any) -> None:
        tp = (record.topic, record.partition)
        self._tracker.started(tp, record.offset)
        try:
            decoded = decode_record(record)
        except EventDecodeError as exc:
            await self._poison(record, str(exc))
            self._tracker.finished(tp, record.offset)
            return
        event = decoded.event
        if not isinstance(event, OutboundEmail | TransactionalRequest | DraftAction):
            log.warning("sender.unexpected_event", topic=record.topic, type=event.event_type)
            self._tracker.finished(tp, record.offset)
            return
        work = Work(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=decoded.key,
            event=event,
            original_topic_spec=record.topic,
            epoch=self._epochs.get(tp, 0),
        )
        work.extra["ctx"] = decoded.context
        self._dispatch(work)

    async def _poison(self, record: Any, error: str) -> None:
        raw = bytes(record.value or b"")[:10_000].decode("utf-8", "replace")
        key = f"{record.topic}/{record.partition}/{record.offset}"
        now = utcnow()
        log.error("dead_letter", message_key=key, stage="sender", error=error[:300])
        await self._pub.publish(
            DEAD_LETTER,
            dead_letter(
                message_key=key,
                kind="undecodable",
                stage="sender",
                error_class="EventDecodeError",
                error_message=error,
                attempts=0,
                first_failure_at=now,
                last_failure_at=now,
                original={"raw": raw},
                original_topic=record.topic,
            ),
            key=key,
        )
        await self._pub.publish(
            ALERTS,
            alert(
                kind="dead_letter",
                message=f"undecodable record {key}: {error[:200]}",
                message_key=key,
                dedup="poison",
            ),
            key=key,
        )

    def _flow_control(self) -> None:
        assigned = list(self._consumer.assignment())
        if not assigned:
            return
        pending = self._tracker.pending()
        if not self._paused and pending >= self._max_in_flight:
            self._consumer.pause(*assigned)
            self._paused = True
            log.warning("waiting.backpressure", unfinished=pending)
        elif self._paused and pending < self._max_in_flight // 2:
            self._consumer.resume(*assigned)
            self._paused = False

    # --- start-up crash sweep ---------------------------------------------------------------
    async def sweep_stale(self) -> int:
        """Apply the crash rule to rows left in ``sending`` longer than a send can take."""
        rows = await self._ledger.stale_sending(self._stale_after)
        for row in rows:
            target = Target(row.message_key, row.kind, row.thread_key)
            verdict = await self._handler.resolve_orphan(row.row_id, row.smtp_message_id, target)
            if verdict == "resend":
                # Safe to send again: back to pending; the uncommitted record brings the content.
                await self._ledger.mark_retry(row.row_id, "not in Sent after a crash; resending")
        if rows:
            log.warning("sender.stale_sending_resolved", rows=len(rows))
        return len(rows)

    # --- main -----------------------------------------------------------------------------------
    def listener(self) -> ConsumerRebalanceListener:
        return _Listener(self)

    async def run(
        self, stop: asyncio.Event, on_started: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        if self._sweep_on_start:
            await self.sweep_stale()
        self._consumer.subscribe(list(self._topics), listener=self.listener())
        self._tasks = [asyncio.create_task(self._worker(i)) for i in range(self._concurrency)]
        self._tasks.append(asyncio.create_task(self._scheduler()))
        loop = asyncio.get_running_loop()
        last_commit = loop.time()
        self.ready = True
        if on_started is not None:
            await on_started()
        try:
            while not stop.is_set():
                self._flow_control()
                batches = await self._consumer.getmany(
                    timeout_ms=_FETCH_TIMEOUT_MS, max_records=_FETCH_MAX_RECORDS
                )
                for records in batches.values():
                    for record in records:
                        await self._accept(record)
                if loop.time() - last_commit >= self._commit_interval:
                    await self._commit()
                    last_commit = loop.time()
                for task in self._tasks:
                    if task.done() and task.exception() is not None:
                        raise RuntimeError("sender worker died") from task.exception()
        finally:
            self.ready = False
            await self._shutdown()

    async def _shutdown(self) -> None:
        # Let messages already inside an SMTP transaction finish, then commit what is done;
        # queued and parked records stay uncommitted and are read again after the restart.
        self._stopping = True
        await self._wait_until(lambda: not self._busy, 30)
        await self._wait_until(lambda: not self._acking, 30)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._commit()
