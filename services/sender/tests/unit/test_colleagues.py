"""Replies a person at the shop wrote, picked from the Sent folder's headers (pure)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from mailroom_common.events import MailboxAction, decode_event, encode_event
from mailroom_common.topics import MAILBOX_ACTIONS, TopicSpec
from mailroom_sender.colleagues import (
    SHOP_REPLY_REASON,
    SentReply,
    colleague_replies,
    event_id_for,
    shop_reply_action,
)
from mailroom_sender.mailbox import SentHeaders, SentScan, _references
from mailroom_sender.sent_watch import SentWatcher, fresh_scan_since

CUSTOMER = "<cust-1@gmail.com>"
ROOT = "<root-1@gmail.com>"


def test_a_colleagues_reply_is_picked_with_its_thread() -> None:
    sent = [
        SentReply(7, "<CAF-ana@mail.gmail.com>", CUSTOMER, (ROOT, CUSTOMER)),
        SentReply(8, "<CAF-luis@mail.gmail.com>", f" {CUSTOMER} (the customer)", ()),
    ]
    first, second = colleague_replies(sent, ours=[])
    assert first.message_id == "<CAF-ana@mail.gmail.com>"
    assert first.thread_ids == ("<CAF-ana@mail.gmail.com>", CUSTOMER, ROOT)  # no repeats
    assert first.thread_key == "root-1@gmail.com"  # ingest's thread key: References' root
    assert first.message_key == "CAF-ana@mail.gmail.com"
    # Only In-Reply-To (comments around it ignored): it names the thread.
    assert second.thread_ids == ("<CAF-luis@mail.gmail.com>", CUSTOMER)
    assert second.thread_key == "cust-1@gmail.com"


def test_mailrooms_own_new_conversations_and_messages_without_an_id_are_left_out() -> None:
    ours = "<0f3a.reply@mailroom.test>"
    sent = [
        SentReply(1, ours, CUSTOMER, (CUSTOMER,)),  # the ledger sent it
        SentReply(2, " <0f3a.reply@mailroom.test> ", CUSTOMER, ()),  # the same, spaced
        SentReply(3, "<new-offer@mail.gmail.com>", None, ()),  # the shop starts a thread
        SentReply(4, None, CUSTOMER, ()),  # no Message-ID: nothing to own it by
        SentReply(5, "", CUSTOMER, ()),
        SentReply(6, "<CAF-ana@mail.gmail.com>", "", ()),  # empty In-Reply-To, no refs
    ]
    assert colleague_replies(sent, ours=[ours]) == []


def test_the_same_message_twice_is_reported_once() -> None:
    sent = [SentReply(1, "<a@x>", CUSTOMER, ()), SentReply(2, "<a@x>", CUSTOMER, ())]
    assert [r.uid for r in colleague_replies(sent, [])] == [1]


def test_references_alone_make_a_reply() -> None:
    (reply,) = colleague_replies([SentReply(3, "<a@x>", None, (ROOT, CUSTOMER))], [])
    assert reply.thread_ids == ("<a@x>", ROOT, CUSTOMER)
    assert reply.thread_key == "root-1@gmail.com"


def test_the_action_is_a_shop_reply_with_a_stable_event_id() -> None:
    (reply,) = colleague_replies([SentReply(9, "<CAF-ana@x>", CUSTOMER, (ROOT,))], [])
    action = shop_reply_action(reply, mailbox="shop@mailroom.test", folder="Sent", uidvalidity=4)
    assert action.action == "shop_reply"
    assert action.message_key == "CAF-ana@x"
    assert action.message_id == "<CAF-ana@x>"
    assert action.mailbox == "shop@mailroom.test"
    assert action.folder == "Sent"
    assert (action.uid, action.uidvalidity) == (9, 4)
    assert action.thread_ids == ["<CAF-ana@x>", CUSTOMER, ROOT]
    assert action.thread_key == "root-1@gmail.com"
    assert action.reason == SHOP_REPLY_REASON
    # Found again after a crash: the same event (ingest's upsert makes it harmless anyway).
    again = shop_reply_action(reply, mailbox="shop@mailroom.test", folder="Sent")
    assert again.event_id == action.event_id == event_id_for("<CAF-ana@x>")
    assert event_id_for(" <CAF-ana@x> ") == action.event_id
    assert event_id_for("<other@x>") != action.event_id
    decoded = decode_event(encode_event(action))
    assert isinstance(decoded, MailboxAction)
    assert decoded == action


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ()),
        ("", ()),
        ("<a@x> <b@y>", ("<a@x>", "<b@y>")),
        ("<a@x>\r\n\t<b@y>", ("<a@x>", "<b@y>")),  # folded
        ("<a@x><b@y>", ("<a@x>", "<b@y>")),  # run together
        ("junk <a@x> (comment) b@y", ("<a@x>",)),
        (("<a@x>", "<b@y>"), ("<a@x>", "<b@y>")),  # the header twice
    ],
)
def test_the_references_header_is_read_as_its_ids(header: Any, expected: tuple[str, ...]) -> None:
    assert _references(header) == expected


def test_a_fresh_scan_starts_at_the_lookback_or_the_day_before_the_oldest_draft() -> None:
    now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    assert fresh_scan_since(now, 2, None) == date(2025, 3, 8)
    assert fresh_scan_since(now, 0, None) == date(2025, 3, 10)
    old_draft = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert fresh_scan_since(now, 2, old_draft) == date(2025, 2, 28)
    # A draft from today: the lookback still covers colleagues' replies of the last days.
    assert fresh_scan_since(now, 2, datetime(2025, 3, 10, 8, 0, tzinfo=UTC)) == date(2025, 3, 8)


# ------------------------------------------------------------------ the watcher, with fakes
class _Store:
    def __init__(self, ledger: set[str]) -> None:
        self.ledger = ledger

    async def pending(self) -> list[Any]:
        return []

    async def left_in_drafts(self) -> list[Any]:
        return []

    async def ledger_ids(self, ids: list[str]) -> set[str]:
        return {i for i in ids if i in self.ledger}


class _Mailbox:
    def __init__(self, scans: list[SentScan]) -> None:
        self.scans = scans
        self.calls: list[tuple[int | None, int, date]] = []

    async def scan_sent(self, uidvalidity: int | None, after_uid: int, since: date) -> SentScan:
        self.calls.append((uidvalidity, after_uid, since))
        return self.scans.pop(0)


class _Publisher:
    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.sent: list[tuple[str, BaseModel, str | None]] = []

    async def publish(self, spec: TopicSpec, event: BaseModel, *, key: str | None) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("broker unavailable")
        self.sent.append((spec.name, event, key))


def test_the_watermark_moves_only_after_the_reports_were_acknowledged() -> None:
    reply = SentHeaders(5, "<CAF-ana@x>", CUSTOMER, (CUSTOMER,))
    ours = SentHeaders(6, "<0f3a.holding@mailroom.test>", CUSTOMER, ())
    scan = SentScan(11, 6, [reply, ours], "Sent")
    later = SentScan(11, 6, [], "Sent")
    mailbox = _Mailbox([scan, scan, later])
    publisher = _Publisher(fail=1)
    watcher = SentWatcher(
        store=_Store({"<0f3a.holding@mailroom.test>"}),  # type: ignore[arg-type]
        mailbox=mailbox,  # type: ignore[arg-type]
        drafts=object(),  # type: ignore[arg-type]
        interval_s=1,
        publisher=publisher,
        mailbox_name="shop@mailroom.test",
        lookback_days=2,
        clock=lambda: datetime(2025, 3, 10, 12, 0, tzinfo=UTC),
    )

    async def go() -> None:
        with pytest.raises(RuntimeError):
            await watcher.poll()  # Kafka said no: the scan is not taken as done
        await watcher.poll()
        await watcher.poll()

    asyncio.run(go())
    assert [(v, u) for v, u, _ in mailbox.calls] == [(None, 0), (None, 0), (11, 6)]
    assert mailbox.calls[0][2] == date(2025, 3, 8)  # no pending drafts: the lookback
    ((topic, event, key),) = publisher.sent
    assert topic == MAILBOX_ACTIONS.name
    assert isinstance(event, MailboxAction)
    assert (event.action, event.message_id, key) == ("shop_reply", "<CAF-ana@x>", "CAF-ana@x")
    assert event.folder == "Sent"
    assert event.event_id == event_id_for("<CAF-ana@x>")
