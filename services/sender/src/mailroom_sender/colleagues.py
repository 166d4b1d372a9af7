"""Replies a person at the shop wrote, found in the mailbox's Sent folder: pure, no I/O.

A thread somebody at the shop answered from their own mail client belongs to that person:
the bot must not talk over a colleague. The Sent watcher reads the headers of what reaches
Sent; :func:`colleague_replies` picks the messages a person wrote in a customer's thread
and :func:`shop_reply_action` turns each into the ``MailboxAction(action="shop_reply")``
ingest's action worker records as thread ownership (``thread_owners``; ingest checks the
send ledger once more and owns nothing mailroom sent itself).

A message is a colleague's reply when it has a Message-ID, that Message-ID is none of
mailroom's own (the send ledger's, or a pending draft's: a draft a person sent from Drafts
is mailroom's text, recorded by the drafts logic instead), and it answers something
(In-Reply-To or References): a new conversation the shop started is no customer's thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from mailroom_common.events import MailboxAction
from mailroom_common.threads import MAX_THREAD_ID

from .draft_logic import bare

__all__ = [
    "PRODUCER",
    "SHOP_REPLY_REASON",
    "ColleagueReply",
    "SentReply",
    "colleague_replies",
    "event_id_for",
    "shop_reply_action",
]

PRODUCER = "sender-sent-watch"
SHOP_REPLY_REASON = "a person at the shop replied from the mailbox"
# Fixed, so the same message found again (a re-scan after a crash) is the same event.
_NAMESPACE = uuid.UUID("6f1d0c3e-5a53-4b8e-9d7e-2f4c1a9b8e01")


@dataclass(frozen=True, slots=True)
class SentReply:
    """What the selection needs of one message in Sent (``mailbox.SentHeaders`` has it)."""

    uid: int
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ColleagueReply:
    uid: int
    message_id: str  # ``<…>``
    thread_ids: tuple[str, ...]  # its own id, what it answers, its References; no repeats
    thread_key: str  # ingest's thread key: the root of References, else In-Reply-To, bare

    @property
    def message_key(self) -> str:
        """Its message key as ingest would make it: the Message-ID without brackets."""
        return self.message_id[1:-1] if self.message_id.startswith("<") else self.message_id


def _unbracketed(message_id: str) -> str:
    return message_id.strip().removeprefix("<").removesuffix(">")


def colleague_replies(sent: Iterable[SentReply], ours: Iterable[str]) -> list[ColleagueReply]:
    """The messages in ``sent`` a person wrote in a customer's thread, each once, in order.

    ``ours``: Message-IDs that are mailroom's own (the send ledger's, pending drafts');
    compared as ``<…>`` tokens, so spacing and comments around them do not matter."""
    own = {b for b in (bare(i) for i in ours) if b}
    found: dict[str, ColleagueReply] = {}
    for message in sent:
        mid = bare(message.message_id)
        if not mid or mid in own or mid in found or len(mid) > MAX_THREAD_ID:
            continue
        parent = bare(message.in_reply_to)
        references = [r for r in (bare(x) for x in message.references) if r]
        if not parent and not references:
            continue  # a new conversation the shop started: no customer's thread
        ids: dict[str, None] = {}
        for value in (mid, parent, *references):
            if value and len(value) <= MAX_THREAD_ID:
                ids.setdefault(value, None)
        root = references[0] if references else parent
        assert root is not None
        found[mid] = ColleagueReply(message.uid, mid, tuple(ids), _unbracketed(root))
    return list(found.values())


def event_id_for(message_id: str) -> uuid.UUID:
    """The event id of the shop_reply of one message: the same every time it is found."""
    return uuid.uuid5(_NAMESPACE, f"shop_reply\x00{bare(message_id) or message_id}")


def shop_reply_action(
    reply: ColleagueReply, *, mailbox: str, folder: str, uidvalidity: int | None = None
) -> MailboxAction:
    """The action asking ingest to own ``reply``'s thread for a person."""
    return MailboxAction(
        event_id=event_id_for(reply.message_id),
        producer=PRODUCER,
        action="shop_reply",
        message_key=reply.message_key,
        mailbox=mailbox,
        folder=folder,
        uid=reply.uid or None,
        uidvalidity=uidvalidity if reply.uid else None,
        message_id=reply.message_id,
        thread_ids=list(reply.thread_ids),
        thread_key=reply.thread_key,
        reason=SHOP_REPLY_REASON,
    )
