"""Threads a person owns (#14 item 4): the pure index and emissions (the inbound agent's
use of them is in test_agents.py)."""

from __future__ import annotations

from collections.abc import Callable

from mailroom_common.events import InboundEmail, MailboxAction, TaskStatus
from mailroom_common.threads import thread_ids
from mailroom_responder import outcomes
from mailroom_responder.ownership import (
    NOTE_TTL_S,
    OwnerIndex,
    OwnerRow,
    handed_off,
    shop_mail,
)

DAY = 86_400.0


def row(
    thread_id: str, *, at: float, released: bool = False, updated: float | None = None
) -> OwnerRow:
    return OwnerRow(
        thread_id, "<root>", "chargeback", at, released, at if updated is None else updated
    )


def test_owned_until_released_or_quiet() -> None:
    index = OwnerIndex(quiet_s=14 * DAY)
    index.merge([row("<a>", at=1000.0), row("<b>", at=1000.0)], now=1001.0)
    assert index.owner_of(["<x>", "<b>"], 1002.0, "<other>") == "chargeback"
    assert index.owner_of(["<x>"], 1002.0, "<other>") is None
    assert index.owner_of(["<a>"], 1000.0 + 14 * DAY, "<other>") is None  # quiet for 14 days
    index.merge([row("<a>", at=1000.0, released=True, updated=2000.0)], now=2001.0)
    assert index.owner_of(["<a>"], 2002.0, "<other>") is None
    assert len(index) == 1  # the released row is forgotten
    # an older fact never replaces a newer one
    index.merge([row("<b>", at=900.0, released=True, updated=900.0)], now=2003.0)
    assert index.owner_of(["<b>"], 2004.0, "<other>") == "chargeback"


def test_a_hand_off_counts_at_once_until_the_database_speaks_or_the_note_expires() -> None:
    index = OwnerIndex(quiet_s=14 * DAY)
    index.note(["<m1>", "<root>"], "refund", now=100.0, message_key="<m1>")
    assert index.owner_of(["<m2>", "<root>"], 101.0, "<other>") == "refund"
    assert index.owner_of(["<root>"], 100.0 + NOTE_TTL_S, "<other>") is None
    # released after the note (e.g. the operator was quick): the database wins
    index.note(["<n1>"], "refund", now=200.0, message_key="<m1>")
    index.merge([row("<n1>", at=150.0, released=True, updated=201.0)], now=202.0)
    assert index.owner_of(["<n1>"], 203.0, "<other>") is None
    # an older database row does not cancel a newer note
    index.note(["<p1>"], "refund", now=300.0, message_key="<m1>")
    index.merge([row("<p1>", at=250.0, released=True, updated=250.0)], now=301.0)
    assert index.owner_of(["<p1>"], 302.0, "<other>") == "refund"


def test_a_mail_is_never_held_to_the_ownership_it_made_itself() -> None:
    index = OwnerIndex(quiet_s=14 * DAY)
    mine = OwnerRow("<a>", "<a>", "chargeback", 1000.0, False, 1000.0, message_key="a")
    index.merge([mine], now=1001.0)
    assert index.owner_of(["<a>"], 1002.0, "a") is None  # the hand-off itself, redelivered
    assert index.owner_of(["<a>"], 1002.0, "b") == "chargeback"  # the next mail
    index.note(["<n>"], "refund", now=1003.0, message_key="n")
    assert index.owner_of(["<n>"], 1004.0, "n") is None
    assert index.owner_of(["<n>"], 1004.0, "m") == "refund"


def test_shop_mail_in_a_customer_thread_asks_ingest_to_own_it(
    make_email: Callable[..., InboundEmail],
) -> None:
    reply = make_email(
        "Hola Ana, ya te lo cambiamos.",
        disposition="ignored",
        screen_reason="own_address",
        in_reply_to="<c1@customer.test>",
        references=["<c1@customer.test>"],
    )
    emission = shop_mail(reply)
    assert emission is not None
    assert isinstance(emission.event, MailboxAction)
    assert emission.event.action == "shop_reply"
    assert "<c1@customer.test>" in emission.event.thread_ids
    assert emission.event.thread_key == "<c1@customer.test>"  # the root names the thread
    # not a reply, not the shop's, or answerable: nothing
    assert shop_mail(make_email("x", disposition="ignored", screen_reason="own_address")) is None
    bulk = make_email("x", disposition="ignored", screen_reason="list_id", in_reply_to="<c@x>")
    assert shop_mail(bulk) is None
    assert shop_mail(make_email("x", in_reply_to="<c@x>")) is None


def test_handed_off_reads_hand_offs_only(make_email: Callable[..., InboundEmail]) -> None:
    email = make_email("x", references=["<root@x>"], in_reply_to="<root@x>")
    found = handed_off(outcomes.mailbox_action(email, "handoff", reason="refund"))
    assert found == (thread_ids(email), "refund", email.message_key)
    assert handed_off(outcomes.mailbox_action(email, "human_owned", reason="r")) is None
    assert handed_off(outcomes.status(email, TaskStatus.HANDOFF)) is None


def test_not_ready_until_the_owners_are_known() -> None:
    from typing import Any, cast

    from mailroom_responder.owners_store import OwnerCache
    from mailroom_responder.service import readiness

    owners = OwnerCache(cast(Any, None), quiet_s=DAY)
    report = readiness(None, None, owners)
    assert report["missing"] == ["faq", "thread_owners"]
    assert report["thread_owners"] == {"loaded": False, "owned_ids": 0}
