"""One mailbox folder: connect, catch up from the checkpoint, then IDLE (or poll).

The loop, per connection:

1. log in and select the folder; read its UIDVALIDITY;
2. load the checkpoint; a different UIDVALIDITY means every UID changed meaning, so the
   folder is rescanned from UID 1 (consumers drop what they saw by ``message_key``);
3. ``UID SEARCH UID last+1:*``, fetch in batches, publish, and save the checkpoint
   only after Kafka acknowledged the batch;
4. wait in IDLE (renewed every ``idle_renew_s``) or sleep ``poll_interval_s``; repeat 3.

Any I/O failure closes the connection and reconnects after an exponential, jittered
delay; the checkpoint decides where to resume, so nothing depends on ``\\Seen``. A
refused login is not retried: it raises :class:`LoginFailed` to the application.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from mailroom_common.events import InboundEmail
from mailroom_common.logging import get_logger
from mailroom_ingest.backoff import backoff_delay
from mailroom_ingest.checkpoint import Checkpoint
from mailroom_ingest.imap import FetchedMail, LoginFailed
from mailroom_ingest.metrics import IngestMetrics
from mailroom_ingest.parse import ParseContext, parse_email
from mailroom_ingest.publisher import PendingMail, PublishResult
from mailroom_ingest.settings import MailboxConfig
from mailroom_ingest.state import MailboxState, Mode

__all__ = ["MailboxWorker", "WorkerOptions"]

log = get_logger("mailroom_ingest.worker")
T = TypeVar("T")


class Session(Protocol):
    uidvalidity: int

    @property
    def supports_idle(self) -> bool: ...
    def open(self) -> None: ...
    def new_uids(self, after: int) -> list[int]: ...
    def fetch(self, uids: list[int]) -> list[FetchedMail]: ...
    def mark_seen(self, uids: list[int]) -> None: ...
    def idle_wait(self, timeout_s: float, stop: threading.Event) -> bool: ...
    def close(self) -> None: ...


class Store(Protocol):
    async def load(self, mailbox: str, folder: str) -> Checkpoint | None: ...
    async def save(self, mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None: ...


class Sink(Protocol):
    async def publish(self, batch: list[PendingMail]) -> PublishResult: ...


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    poll_interval_s: float
    idle_renew_s: float
    use_idle: bool
    fetch_batch: int
    max_text_bytes: int
    mark_seen_after_publish: bool
    backoff_base_s: float
    backoff_max_s: float
    own_addresses: frozenset[str]
    own_domain: str | None


class PublishFailed(Exception):
    """Kafka did not acknowledge a batch; resume from the checkpoint."""


class MailboxWorker:
    def __init__(
        self,
        config: MailboxConfig,
        options: WorkerOptions,
        *,
        session_factory: Callable[[MailboxConfig], Session],
        store: Store,
        sink: Sink,
        metrics: IngestMetrics,
        state: MailboxState,
    ) -> None:
        self.config = config
        self.options = options
        self._session_factory = session_factory
        self._store = store
        self._sink = sink
        self._metrics = metrics
        self.state = state
        self._stop = asyncio.Event()
        self._thread_stop = threading.Event()
        # One thread per mailbox: its blocking connection is used by nobody else, and a
        # long IDLE never starves the loop's shared default executor.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"imap-{config.name}")
        self._log = log.bind(mailbox=config.name, folder=config.folder)

    def stop(self) -> None:
        self._stop.set()
        self._thread_stop.set()

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def run(self) -> None:
        """Run until :meth:`stop`; raises :class:`LoginFailed` on refused credentials."""
        attempt = 0
        try:
            while not self._stop.is_set():
                session = self._session_factory(self.config)
                try:
                    self.state.set(Mode.CONNECTING)
                    self._log.info(
                        "imap.connect",
                        host=self.config.host,
                        port=self.config.port,
                        security=self.config.security.value,
                        attempt=attempt + 1,
                    )
                    await self._blocking(session.open)
                    attempt = 0
                    self.state.last_error = None
                    await self._serve(session)
                except LoginFailed:
                    self.state.set(Mode.FAILED)
                    raise
                except Exception as exc:
                    if self._stop.is_set():
                        break
                    attempt += 1
                    await self._back_off(attempt, exc)
                finally:
                    await self._close(session)
        finally:
            if self.state.mode is not Mode.FAILED:
                self.state.set(Mode.STOPPED)
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _close(self, session: Session) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._blocking(session.close), timeout=10)

    async def _back_off(self, attempt: int, exc: BaseException) -> None:
        delay = backoff_delay(
            attempt, base_s=self.options.backoff_base_s, max_s=self.options.backoff_max_s
        )
        self.state.set(Mode.BACKOFF)
        self.state.reconnects += 1
        self.state.last_error = f"{type(exc).__name__}: {exc}"[:300]
        self._metrics.reconnects.labels(self.config.name).inc()
        self._log.warning(
            "imap.connect.retry",
            attempt=attempt,
            delay_s=round(delay, 2),
            error=type(exc).__name__,
            detail=str(exc)[:200],
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=delay)

    async def _serve(self, session: Session) -> None:
        uidvalidity = session.uidvalidity
        checkpoint = await self._store.load(self.config.name, self.config.folder)
        last_uid = 0
        if checkpoint is not None and checkpoint.uidvalidity == uidvalidity:
            last_uid = checkpoint.last_uid
        elif checkpoint is not None:
            self._log.warning(
                "imap.uidvalidity_changed",
                old=checkpoint.uidvalidity,
                new=uidvalidity,
                action="rescan from UID 1; consumers deduplicate by message_key",
            )
        self.state.uidvalidity = uidvalidity
        self.state.last_uid = last_uid
        use_idle = self.options.use_idle and session.supports_idle
        self._log.info("imap.connect.ok", uidvalidity=uidvalidity, last_uid=last_uid, idle=use_idle)
        while not self._stop.is_set():
            self.state.set(Mode.SYNCING)
            last_uid = await self._sync(session, uidvalidity, last_uid)
            self.state.last_sync_at = time.time()
            if self._stop.is_set():
                break
            if use_idle:
                self.state.set(Mode.IDLE)
                await self._blocking(
                    session.idle_wait, self.options.idle_renew_s, self._thread_stop
                )
            else:
                self.state.set(Mode.POLL)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=self.options.poll_interval_s)

    async def _sync(self, session: Session, uidvalidity: int, last_uid: int) -> int:
        """Publish everything after ``last_uid``; return the new checkpointed UID."""
        uids = await self._blocking(session.new_uids, last_uid)
        if uids:
            self._log.info("mail.found", count=len(uids), first_uid=uids[0], last_uid=uids[-1])
        size = self.options.fetch_batch
        for start in range(0, len(uids), size):
            if self._stop.is_set():
                break
            chunk = uids[start : start + size]
            fetched = await self._blocking(session.fetch, chunk)
            self._metrics.fetched.labels(self.config.name).inc(len(fetched))
            batch = [self._pending(mail, uidvalidity) for mail in fetched]
            result = await self._sink.publish(batch)
            if result.error is None:
                # UIDs missing from the fetch were expunged meanwhile: skipping them is
                # right, they no longer exist.
                new_last = chunk[-1]
            else:
                acked = batch[result.acked - 1].event.uid if result.acked else None
                new_last = acked or last_uid
            if new_last > last_uid:
                await self._store.save(self.config.name, self.config.folder, uidvalidity, new_last)
                last_uid = new_last
                self.state.last_uid = last_uid
                if self.options.mark_seen_after_publish and result.acked:
                    done = [m.uid for m in fetched[: result.acked]]
                    await self._blocking(session.mark_seen, done)
            if result.error is not None:
                raise PublishFailed(
                    f"Kafka did not acknowledge the batch: {type(result.error).__name__}: "
                    f"{result.error}"
                ) from result.error
            for mail in batch:
                self._log_mail(mail.event)
        return last_uid

    def _pending(self, mail: FetchedMail, uidvalidity: int) -> PendingMail:
        ctx = ParseContext(
            mailbox=self.config.name,
            folder=self.config.folder,
            uid=mail.uid,
            uidvalidity=uidvalidity,
            received_at=mail.internaldate,
            own_addresses=self.options.own_addresses,
            own_domain=self.options.own_domain,
            max_text_bytes=self.options.max_text_bytes,
        )
        return PendingMail(
            event=parse_email(mail.raw, ctx),
            fetched_at_ns=time.time_ns(),
            fetched_monotonic=time.monotonic(),
        )

    def _log_mail(self, event: InboundEmail) -> None:
        self._log.info(
            "mail.processing",
            uid=event.uid,
            message_key=event.message_key[:120],
            disposition=event.disposition.value,
            reason=event.screen_reason,
            size=event.size_bytes,
            truncated=event.truncated,
        )
