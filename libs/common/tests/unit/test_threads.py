"""The ids that name an email's conversation."""

from __future__ import annotations

from mailroom_common.events import InboundEmail
from mailroom_common.threads import MAX_THREAD_ID, thread_ids


def test_every_id_of_the_chain_once_own_first() -> None:
    email = InboundEmail(
        message_key="<c@x>",
        thread_key="<a@x>",
        mailbox="shop",
        message_id="<c@x>",
        in_reply_to="<b@x>",
        references=["<a@x>", "<b@x>", " ", "<" + "z" * MAX_THREAD_ID + ">"],
    )
    assert thread_ids(email) == ["<c@x>", "<a@x>", "<b@x>"]


def test_a_mail_without_message_id_still_has_its_key() -> None:
    email = InboundEmail(message_key="sha256:ab", thread_key="sha256:ab", mailbox="shop")
    assert thread_ids(email) == ["sha256:ab"]
