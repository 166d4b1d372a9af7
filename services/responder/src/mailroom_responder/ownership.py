"""Threads a person owns, as the responder knows them (pure; no I/O).

Ingest records ownership in ``thread_owners`` (a hand-off, a colleague's reply) and the
admin API releases it; the responder keeps an index of those rows, refreshed from
PostgreSQL (``owners_store.OwnerCache``). A customer mail any of whose thread ids is owned
is not answered: it is recorded ``human_owned`` and flagged for the person.

Between a hand-off and the row ingest writes for it there are a few seconds: the
responder's own hand-offs are noted here at once (``note``) and count until the database
has spoken about those ids since (or ``NOTE_TTL_S`` passed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailroom_common.events import Disposition, InboundEmail, MailboxAction, TaskStatus
from mailroom_responder import outcomes
from mailroom_responder.outcomes import Emission

__all__ = [
    "NOTE_TTL_S",
    "SHOP_MAIL_REASONS",
    "OwnerIndex",
    "OwnerRow",
    "handed_off",
    "human_owned",
    "owned_reason",
    "shop_mail",
]

# Ingest's screening reasons for mail from the shop itself (its addresses, its domain's
# Message-IDs): in a customer's thread, somebody at the shop wrote there.
SHOP_MAIL_REASONS = frozenset({"own_address", "own_message_id"})

NOTE_TTL_S = 120.0


@dataclass(frozen=True, slots=True)
class OwnerRow:
    """One ``thread_owners`` row; times are epoch seconds."""

    thread_id: str
    thread: str
    reason: str
    last_activity: float
    released: bool
    updated: float
    # The mail that made this row owned: never held against that same mail (a hand-off
    # redelivered after a crash is decided again as the hand-off it was).
    message_key: str = ""


@dataclass(frozen=True, slots=True)
class _Note:
    reason: str
    at: float
    message_key: str


class OwnerIndex:
    def __init__(self, quiet_s: float) -> None:
        self.quiet_s = quiet_s
        self._rows: dict[str, OwnerRow] = {}
        self._notes: dict[str, _Note] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def merge(self, rows: Iterable[OwnerRow], now: float) -> None:
        """Take the database's rows (newer facts replace older ones); forget dead ones."""
        for row in rows:
            known = self._rows.get(row.thread_id)
            if known is not None and known.updated > row.updated:
                continue
            if row.released or now - row.last_activity >= self.quiet_s:
                self._rows.pop(row.thread_id, None)
                # Kept as a tombstone only while a note might still claim the id.
                if row.thread_id in self._notes:
                    self._rows[row.thread_id] = row
            else:
                self._rows[row.thread_id] = row
        self._expire_notes(now)

    def note(self, thread_ids: Sequence[str], reason: str, now: float, message_key: str) -> None:
        """The responder just handed ``message_key``'s thread to a person (ingest records
        it next)."""
        for thread_id in thread_ids:
            self._notes[thread_id] = _Note(reason, now, message_key)

    def owner_of(self, thread_ids: Sequence[str], now: float, message_key: str) -> str | None:
        """The reason a person owns the thread named by any of ``thread_ids``, or None.

        ``message_key`` is the mail being decided: what it made owned itself does not count.
        """
        for thread_id in thread_ids:
            row = self._rows.get(thread_id)
            if (
                row is not None
                and not row.released
                and now - row.last_activity < self.quiet_s
                and row.message_key != message_key
            ):
                return row.reason
        for thread_id in thread_ids:
            note = self._notes.get(thread_id)
            if note is None or now - note.at >= NOTE_TTL_S or note.message_key == message_key:
                continue
            row = self._rows.get(thread_id)
            if row is not None and row.updated >= note.at:
                continue  # the database has spoken since (e.g. released): it wins
            return note.reason
        return None

    def _expire_notes(self, now: float) -> None:
        for thread_id in [k for k, n in self._notes.items() if now - n.at >= NOTE_TTL_S]:
            del self._notes[thread_id]
            row = self._rows.get(thread_id)
            if row is not None and (row.released or now - row.last_activity >= self.quiet_s):
                del self._rows[thread_id]


def owned_reason(reason: str) -> str:
    """The status reason of a mail not answered because a person owns its thread."""
    return f"thread owned by a person: {reason}"[:500]


def human_owned(email: InboundEmail, reason: str) -> list[Emission]:
    """A customer mail in a thread a person owns: recorded, flagged for them, unanswered."""
    why = owned_reason(reason)
    return [
        outcomes.status(email, TaskStatus.HUMAN_OWNED, attempts=email.attempt, reason=why),
        outcomes.mailbox_action(email, "human_owned", reason=why),
    ]


def shop_mail(email: InboundEmail) -> Emission | None:
    """A message from the shop in a customer's thread (found in INBOX): ask ingest to own
    the thread for a person, unless the send ledger sent it (ingest checks)."""
    if email.disposition is not Disposition.IGNORED or email.screen_reason not in (
        SHOP_MAIL_REASONS
    ):
        return None
    if not (email.in_reply_to or email.references):
        return None  # not a reply: no customer's thread to own
    return outcomes.mailbox_action(
        email, "shop_reply", reason="a person at the shop replied (seen in the inbox)"
    )


def handed_off(emission: Emission) -> tuple[list[str], str, str] | None:
    """The thread ids, reason and message key of a hand-off being published, else None."""
    event = emission.event
    if isinstance(event, MailboxAction) and event.action == "handoff":
        return list(event.thread_ids), event.reason or "handed off to a person", event.message_key
    return None
