"""Decisions about drafts: pure, no I/O, unit-tested.

* :func:`next_step`: what an operator's approval or discard does to a draft in each state.
* :func:`person_sends`: which pending drafts a person has already answered from the mailbox,
  judged from the headers of the messages in its Sent folder and the send ledger's
  Message-IDs (what mailroom sent itself is never a person's answer).

Draft states (``reply_drafts.state``)::

    filing ──APPEND──> filed ──approve──> approved ──ledger: 250──> sent
                         │ └──discard──> discarded            (never sent: ledger suppressed)
                         └──a person sends it / answers──> sent_by_person (ledger: sent)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailroom_common.db.models import DraftState

__all__ = ["PendingDraft", "PersonSend", "SentMessage", "Step", "bare", "next_step", "person_sends"]


class Step(enum.StrEnum):
    WAIT = "wait"  # still being filed: try again shortly
    APPROVE = "approve"  # filed → approved, then send through the ledger
    SEND = "send"  # approved before (a crash or a retry): send through the ledger
    CONFIRM_SENT = "confirm_sent"  # already sent: repeat the report, tidy Drafts
    DISCARD = "discard"  # filed → discarded
    CONFIRM_DISCARDED = "confirm_discarded"  # already discarded: repeat the report, tidy
    REFUSE = "refuse"  # too late: sent by a person, or decided the other way


_STEPS: dict[tuple[str, str], Step] = {
    ("approve", DraftState.FILING): Step.WAIT,
    ("approve", DraftState.FILED): Step.APPROVE,
    ("approve", DraftState.APPROVED): Step.SEND,
    ("approve", DraftState.SENT): Step.CONFIRM_SENT,
    ("discard", DraftState.FILING): Step.WAIT,
    ("discard", DraftState.FILED): Step.DISCARD,
    ("discard", DraftState.DISCARDED): Step.CONFIRM_DISCARDED,
}


def next_step(action: str, state: str) -> Step:
    """What ``action`` ("approve" | "discard") does to a draft in ``state``."""
    return _STEPS.get((action, state), Step.REFUSE)


_ID_RE = re.compile(r"<[^<>\s]+>")


def bare(message_id: str | None) -> str | None:
    """A Message-ID as compared here: the first ``<…>`` token (or the stripped text)."""
    if not message_id:
        return None
    found = _ID_RE.search(message_id)
    return found.group(0) if found else (message_id.strip() or None)


@dataclass(frozen=True, slots=True)
class PendingDraft:
    key: object  # the caller's handle on the draft (its row)
    smtp_message_id: str  # the draft's own Message-ID (the ledger's for its task and kind)
    customer_message_id: str | None  # the customer's message it answers (its In-Reply-To)


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_id: str | None
    in_reply_to: str | None


@dataclass(frozen=True, slots=True)
class PersonSend:
    draft: PendingDraft
    how: str  # "the draft itself" | "a reply to the customer's message"


def person_sends(
    pending: Sequence[PendingDraft],
    sent: Iterable[SentMessage],
    ledger_ids: Iterable[str],
) -> list[PersonSend]:
    """Pending drafts answered from the mailbox: the draft's Message-ID is in Sent (a person
    sent the draft), or a message there answers the customer's message and is none of the
    ledger's (mailroom's own holding replies and acknowledgements answer it too)."""
    ours = {b for b in (bare(i) for i in ledger_ids) if b}
    by_id = {bare(d.smtp_message_id): d for d in pending}
    by_parent: dict[str, list[PendingDraft]] = {}
    for draft in pending:
        parent = bare(draft.customer_message_id)
        if parent:
            by_parent.setdefault(parent, []).append(draft)
    found: dict[str, PersonSend] = {}
    for message in sent:
        mid, parent = bare(message.message_id), bare(message.in_reply_to)
        if mid in ours:
            continue  # mailroom sent it (a pending draft's own id is in no ledger row)
        itself = by_id.get(mid) if mid else None
        if itself is not None:
            found.setdefault(itself.smtp_message_id, PersonSend(itself, "the draft itself"))
            continue
        for draft in by_parent.get(parent or "", []):
            found.setdefault(
                draft.smtp_message_id, PersonSend(draft, "a reply to the customer's message")
            )
    return list(found.values())
