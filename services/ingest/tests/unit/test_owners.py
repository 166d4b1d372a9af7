"""ownership_change: what a mailbox action changes in thread_owners (pure)."""

from __future__ import annotations

from mailroom_common.events import MailboxAction
from mailroom_ingest.owners import SHOP_REPLY_REASON, ownership_change


def action(**fields: object) -> MailboxAction:
    base: dict[str, object] = {
        "producer": "test",
        "action": "handoff",
        "message_key": "<m2@customer.example>",
        "mailbox": "shop",
        "message_id": "<m2@customer.example>",
        "thread_ids": ["<m2@customer.example>", "<root@customer.example>"],
        "thread_key": "<root@customer.example>",
        "reason": "chargeback",
    }
    base.update(fields)
    return MailboxAction.model_validate(base)


def test_a_handoff_owns_every_id_of_the_thread_under_its_root() -> None:
    change = ownership_change(action())
    assert change is not None
    assert change.kind == "own"
    assert change.thread_ids == ("<m2@customer.example>", "<root@customer.example>")
    assert change.thread == "<root@customer.example>"
    assert change.reason == "chargeback"
    assert change.unless_sent_by_ledger is None


def test_a_shop_reply_owns_unless_the_ledger_sent_it() -> None:
    change = ownership_change(action(action="shop_reply", reason=None, message_id="<c@shop>"))
    assert change is not None
    assert change.kind == "own"
    assert change.reason == SHOP_REPLY_REASON
    assert change.unless_sent_by_ledger == "<c@shop>"
    assert "<c@shop>" in change.thread_ids  # the colleague's own id names the thread too


def test_a_later_mail_only_touches_and_the_message_id_counts_as_an_id() -> None:
    change = ownership_change(
        action(action="human_owned", thread_ids=[], message_id="<m3@customer.example>")
    )
    assert change is not None
    assert change.kind == "touch"
    assert change.thread_ids == ("<m3@customer.example>",)


def test_no_ids_nothing_to_own_and_overlong_ids_are_left_out() -> None:
    assert ownership_change(action(thread_ids=[" ", "x" * 999], message_id=None)) is None
    change = ownership_change(action(thread_key="y" * 999))
    assert change is not None
    assert change.thread == "<m2@customer.example>"  # no usable root: the first id
    assert ownership_change(action(thread_ids=["<a@b>", "<a@b>"], message_id="<a@b>")) == (
        ownership_change(action(thread_ids=["<a@b>"], message_id="<a@b>"))
    )


def test_the_group_is_a_bracketed_message_id_whatever_form_it_came_in() -> None:
    bare = ownership_change(action(thread_key="root@customer.example"))
    assert bare is not None
    assert bare.thread == "<root@customer.example>"
    hashed = ownership_change(action(thread_key="subject:0123abcd"))
    assert hashed is not None
    assert hashed.thread == "subject:0123abcd"
