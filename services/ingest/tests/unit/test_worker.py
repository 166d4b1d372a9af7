"""The mailbox loop against fakes: checkpoint rule, UIDVALIDITY, failures, login."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from mailroom_ingest.checkpoint import Checkpoint
from mailroom_ingest.imap import FetchedMail, LoginFailed
from mailroom_ingest.metrics import IngestMetrics
from mailroom_ingest.publisher import PendingMail, PublishResult
from mailroom_ingest.settings import MailboxConfig, Security
from mailroom_ingest.state import MailboxState, Mode
from mailroom_ingest.worker import MailboxWorker, WorkerOptions

CONFIG = MailboxConfig(
    name="sales",
    host="imap.test",
    port=993,
    security=Security.SSL,
    user="sales@x.test",
    password=SecretStr("pw"),
)


def _raw(uid: int) -> bytes:
    return f"From: c{uid}@example.com\r\nMessage-ID: <{uid}@example.com>\r\n\r\nhi\r\n".encode()


class FakeServer:
    def __init__(self, uids: list[int], uidvalidity: int = 1, idle: bool = False) -> None:
        self.mails = {u: _raw(u) for u in uids}
        self.uidvalidity = uidvalidity
        self.idle = idle
        self.opens = 0
        self.fail_next_open: BaseException | None = None
        self.seen: list[int] = []
        self.new_mail = threading.Event()


class FakeSession:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.uidvalidity = 0

    @property
    def supports_idle(self) -> bool:
        return self.server.idle

    def open(self) -> None:
        self.server.opens += 1
        if self.server.fail_next_open is not None:
            exc, self.server.fail_next_open = self.server.fail_next_open, None
            raise exc
        self.uidvalidity = self.server.uidvalidity

    def new_uids(self, after: int) -> list[int]:
        return sorted(u for u in self.server.mails if u > after)

    def fetch(self, uids: list[int]) -> list[FetchedMail]:
        return [FetchedMail(u, self.server.mails[u], None) for u in uids if u in self.server.mails]

    def mark_seen(self, uids: list[int]) -> None:
        self.server.seen.extend(uids)

    def idle_wait(self, timeout_s: float, stop: threading.Event) -> bool:
        for _ in range(int(timeout_s * 100)):
            if stop.is_set() or self.server.new_mail.is_set():
                self.server.new_mail.clear()
                return True
            stop.wait(0.01)
        return False

    def close(self) -> None:
        pass


class FakeStore:
    def __init__(self, start: Checkpoint | None = None) -> None:
        self.value = start
        self.saves: list[tuple[int, int]] = []

    async def load(self, mailbox: str, folder: str) -> Checkpoint | None:
        return self.value

    async def save(self, mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        self.value = Checkpoint(uidvalidity, last_uid)
        self.saves.append((uidvalidity, last_uid))


class FakeSink:
    def __init__(self) -> None:
        self.published: list[int] = []
        self.fail_uid: int | None = None
        self.store: FakeStore | None = None
        self.checkpoint_at_publish: list[Checkpoint | None] = []

    async def publish(self, batch: list[PendingMail]) -> PublishResult:
        acked = 0
        for mail in batch:
            if mail.event.uid == self.fail_uid:
                self.fail_uid = None
                return PublishResult(acked, RuntimeError("kafka down"))
            self.published.append(mail.event.uid or 0)
            acked += 1
        if self.store is not None:
            self.checkpoint_at_publish.append(self.store.value)
        return PublishResult(acked, None)


def _options(**overrides: Any) -> WorkerOptions:
    values: dict[str, Any] = {
        "poll_interval_s": 0.05,
        "idle_renew_s": 5.0,
        "use_idle": True,
        "fetch_batch": 2,
        "max_text_bytes": 10_000,
        "mark_seen_after_publish": False,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.02,
        "own_addresses": frozenset(),
        "own_domain": None,
    }
    values.update(overrides)
    return WorkerOptions(**values)


async def _until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def _worker(server: FakeServer, store: FakeStore, sink: FakeSink, **options: Any) -> MailboxWorker:
    return MailboxWorker(
        CONFIG,
        _options(**options),
        session_factory=lambda _cfg: FakeSession(server),
        store=store,
        sink=sink,
        metrics=IngestMetrics(),
        state=MailboxState(name="sales", folder="INBOX"),
    )


async def _run(worker: MailboxWorker, cond: Callable[[], bool]) -> None:
    task = asyncio.create_task(worker.run())
    try:
        await _until(cond)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 5)


async def test_catch_up_publishes_each_once_and_checkpoints_after_ack() -> None:
    server, store, sink = FakeServer([1, 2, 3, 5, 8]), FakeStore(), FakeSink()
    sink.store = store
    worker = _worker(server, store, sink)
    await _run(worker, lambda: store.value == Checkpoint(1, 8))
    assert sink.published == [1, 2, 3, 5, 8]
    # When a batch is published the checkpoint still points before it.
    assert sink.checkpoint_at_publish == [None, Checkpoint(1, 2), Checkpoint(1, 5)]
    assert store.saves == [(1, 2), (1, 5), (1, 8)]
    assert worker.state.mode is Mode.STOPPED


async def test_resume_from_checkpoint() -> None:
    server, store, sink = FakeServer([1, 2, 3, 4]), FakeStore(Checkpoint(1, 2)), FakeSink()
    await _run(_worker(server, store, sink), lambda: store.value == Checkpoint(1, 4))
    assert sink.published == [3, 4]


async def test_uidvalidity_change_rescans_from_one() -> None:
    server = FakeServer([1, 2], uidvalidity=7)
    store, sink = FakeStore(Checkpoint(6, 100)), FakeSink()
    await _run(_worker(server, store, sink), lambda: store.value == Checkpoint(7, 2))
    assert sink.published == [1, 2]


async def test_publish_failure_keeps_checkpoint_before_the_failed_mail() -> None:
    server, store, sink = FakeServer([1, 2, 3, 4]), FakeStore(), FakeSink()
    sink.fail_uid = 2
    worker = _worker(server, store, sink, fetch_batch=4)
    await _run(worker, lambda: store.value == Checkpoint(1, 4))
    assert (1, 1) in store.saves  # only the acked prefix was checkpointed
    assert sink.published == [1, 2, 3, 4]  # resumed after reconnecting, nothing lost
    assert worker.state.reconnects == 1
    assert server.opens == 2


async def test_connection_failure_backs_off_and_reconnects() -> None:
    server, store, sink = FakeServer([1]), FakeStore(), FakeSink()
    server.fail_next_open = ConnectionResetError("dropped")
    worker = _worker(server, store, sink)
    await _run(worker, lambda: sink.published == [1])
    assert server.opens == 2
    assert worker.state.reconnects == 1


async def test_login_failure_is_not_retried() -> None:
    server, store, sink = FakeServer([1]), FakeStore(), FakeSink()
    server.fail_next_open = LoginFailed("sales", "AUTHENTICATIONFAILED")
    worker = _worker(server, store, sink)
    with pytest.raises(LoginFailed):
        await asyncio.wait_for(worker.run(), 5)
    assert server.opens == 1
    assert worker.state.mode is Mode.FAILED


async def test_idle_wakes_up_for_new_mail() -> None:
    server, store, sink = FakeServer([1], idle=True), FakeStore(), FakeSink()
    worker = _worker(server, store, sink)
    task = asyncio.create_task(worker.run())
    try:
        await _until(lambda: worker.state.mode is Mode.IDLE)
        server.mails[2] = _raw(2)
        server.new_mail.set()
        await _until(lambda: sink.published == [1, 2])
    finally:
        worker.stop()
        await asyncio.wait_for(task, 5)


async def test_poll_mode_without_idle_and_mark_seen_option() -> None:
    server, store, sink = FakeServer([1], idle=False), FakeStore(), FakeSink()
    worker = _worker(server, store, sink, mark_seen_after_publish=True)
    task = asyncio.create_task(worker.run())
    try:
        await _until(lambda: worker.state.mode is Mode.POLL)
        server.mails[2] = _raw(2)
        await _until(lambda: sink.published == [1, 2])
        await _until(lambda: server.seen == [1, 2])
    finally:
        worker.stop()
        await asyncio.wait_for(task, 5)


async def test_mails_are_not_marked_seen_by_default() -> None:
    server, store, sink = FakeServer([1, 2]), FakeStore(), FakeSink()
    await _run(_worker(server, store, sink), lambda: store.value == Checkpoint(1, 2))
    assert server.seen == []
