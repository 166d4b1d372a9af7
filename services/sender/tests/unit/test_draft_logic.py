"""Drafts' pure parts: which folder is Drafts/Sent, what an action does, who sent what."""

from __future__ import annotations

import pytest

from mailroom_common.db.models import DraftState
from mailroom_sender.draft_logic import (
    PendingDraft,
    SentMessage,
    Step,
    bare,
    next_step,
    person_sends,
)
from mailroom_sender.folders import DRAFTS, SENT, choose_folder

GMAIL = [
    ("INBOX", ("\\HasNoChildren",)),
    ("[Gmail]", ("\\HasChildren", "\\Noselect")),
    ("[Gmail]/All Mail", ("\\All", "\\HasNoChildren")),
    ("[Gmail]/Drafts", ("\\Drafts", "\\HasNoChildren")),
    ("[Gmail]/Sent Mail", ("\\HasNoChildren", "\\Sent")),
    ("[Gmail]/Trash", ("\\HasNoChildren", "\\Trash")),
]


def test_gmail_folders_are_found_by_their_special_use() -> None:
    drafts = choose_folder(GMAIL, DRAFTS)
    assert (drafts.name, drafts.exists, drafts.how) == ("[Gmail]/Drafts", True, "special-use")
    assert choose_folder(GMAIL, SENT).name == "[Gmail]/Sent Mail"
    # Attributes are case-insensitive (RFC 3501 flags).
    assert choose_folder([("Borradores", ("\\drafts",))], DRAFTS).name == "Borradores"


def test_a_setting_wins_and_the_fallback_is_created_when_missing() -> None:
    named = choose_folder(GMAIL, DRAFTS, "Mailroom drafts")
    assert (named.name, named.exists, named.how) == ("Mailroom drafts", False, "setting")
    assert choose_folder(GMAIL, SENT, " [Gmail]/Sent Mail ").exists
    plain = [("INBOX", ()), ("Sent", ())]
    assert choose_folder(plain, SENT) == choose_folder(plain, SENT)
    sent = choose_folder(plain, SENT)
    assert (sent.name, sent.exists, sent.how) == ("Sent", True, "fallback")
    drafts = choose_folder(plain, DRAFTS)
    assert (drafts.name, drafts.exists) == ("Drafts", False)


@pytest.mark.parametrize(
    ("action", "state", "step"),
    [
        ("approve", DraftState.FILING, Step.WAIT),
        ("approve", DraftState.FILED, Step.APPROVE),
        ("approve", DraftState.APPROVED, Step.SEND),  # a crash between approved and sent
        ("approve", DraftState.SENT, Step.CONFIRM_SENT),
        ("approve", DraftState.SENT_BY_PERSON, Step.REFUSE),  # never a second copy
        ("approve", DraftState.DISCARDED, Step.REFUSE),
        ("discard", DraftState.FILING, Step.WAIT),
        ("discard", DraftState.FILED, Step.DISCARD),
        ("discard", DraftState.DISCARDED, Step.CONFIRM_DISCARDED),
        ("discard", DraftState.APPROVED, Step.REFUSE),  # too late: it is being sent
        ("discard", DraftState.SENT, Step.REFUSE),
        ("discard", DraftState.SENT_BY_PERSON, Step.REFUSE),
    ],
)
def test_what_an_operators_action_does(action: str, state: str, step: Step) -> None:
    assert next_step(action, state) is step


def test_message_ids_compare_without_their_surroundings() -> None:
    assert bare(" <a@b> ") == "<a@b>"
    assert bare("Re: <a@b> (x)") == "<a@b>"
    assert bare("a@b") == "a@b"
    assert bare("") is None
    assert bare(None) is None


DRAFT_A = PendingDraft("a", "<d1.reply@shop.test>", "<customer-a@mail.test>")
DRAFT_B = PendingDraft("b", "<d2.reply@shop.test>", "<customer-b@mail.test>")


def test_a_person_sending_the_draft_itself_is_found_by_its_message_id() -> None:
    sent = [SentMessage("<d1.reply@shop.test>", "<customer-a@mail.test>")]
    [found] = person_sends([DRAFT_A, DRAFT_B], sent, ledger_ids=[])
    assert (found.draft, found.how) == (DRAFT_A, "the draft itself")


def test_a_persons_own_reply_to_the_customer_counts_but_mailroom_messages_do_not() -> None:
    sent = [
        # mailroom's holding reply and acknowledgement answer the same customer message
        SentMessage("<h.holding@shop.test>", "<customer-a@mail.test>"),
        SentMessage("<k.handoff_ack@shop.test>", "<customer-b@mail.test>"),
        # a person wrote their own answer to B from their mail client
        SentMessage("<CAF-person-1@mail.gmail.com>", " <customer-b@mail.test>"),
        SentMessage("<other@mail.gmail.com>", None),
    ]
    ledger = ["<h.holding@shop.test>", "<k.handoff_ack@shop.test>"]
    [found] = person_sends([DRAFT_A, DRAFT_B], sent, ledger)
    assert (found.draft, found.how) == (DRAFT_B, "a reply to the customer's message")


def test_what_the_ledger_sent_under_the_drafts_id_is_no_persons_doing() -> None:
    sent = [SentMessage("<d1.reply@shop.test>", "<customer-a@mail.test>")]
    assert person_sends([DRAFT_A], sent, ledger_ids=["<d1.reply@shop.test>"]) == []


def test_each_draft_is_found_once() -> None:
    sent = [
        SentMessage("<d1.reply@shop.test>", "<customer-a@mail.test>"),
        SentMessage("<again@mail.gmail.com>", "<customer-a@mail.test>"),
    ]
    assert [f.draft for f in person_sends([DRAFT_A], sent, [])] == [DRAFT_A]
    assert person_sends([], sent, []) == []
