"""Threads a person owns (``thread_owners``): what a mailbox action changes, and the store.

A hand-off owns the email's thread for a person; a message somebody at the shop wrote in
it (``shop_reply``: a colleague's reply in INBOX or Sent that the send ledger did not send)
owns it too; a later customer mail in an owned thread (``human_owned``) adds its ids and
keeps the thread's activity fresh, so it goes back to the bot only after
``MAILROOM_THREAD_QUIET_DAYS`` of quiet or when the operator releases it (admin API).

``ownership_change`` is pure; :class:`OwnerStore` is the PostgreSQL adapter. Every write is
an idempotent upsert: a redelivered action changes nothing but the activity time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.events import MailboxAction
from mailroom_common.threads import MAX_THREAD_ID

__all__ = ["SHOP_REPLY_REASON", "OwnerStore", "OwnershipChange", "ownership_change"]

SHOP_REPLY_REASON = "a person at the shop replied"
_HANDOFF_REASON = "handed off to a person"
_MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class OwnershipChange:
    """``own``: the thread is (again) a person's; ``touch``: it still is, if not released."""

    kind: Literal["own", "touch"]
    thread_ids: tuple[str, ...]
    thread: str  # the group id when no row of the thread exists yet
    reason: str
    message_key: str
    # shop_reply only: the message may be mailroom's own (then nothing changes).
    unless_sent_by_ledger: str | None = None


def _ids(action: MailboxAction) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for raw in (*action.thread_ids, action.message_id or ""):
        value = raw.strip()
        if value and len(value) <= MAX_THREAD_ID:
            seen.setdefault(value, None)
    return tuple(seen)


def _group(value: str) -> str:
    """A thread's group id in one form: a Message-ID in angle brackets (``a@b`` → ``<a@b>``);
    other keys (ingest's ``subject:…`` hash) as they are."""
    value = value.strip()
    if value and not value.startswith("<") and "@" in value and ":" not in value:
        return f"<{value}>"
    return value


def ownership_change(action: MailboxAction) -> OwnershipChange | None:
    """What ``action`` changes in ``thread_owners``; None when nothing (no ids to own)."""
    ids = _ids(action)
    if not ids:
        return None
    thread = _group(action.thread_key or "")
    if not thread or len(thread) > MAX_THREAD_ID:
        thread = _group(ids[-1] if action.action == "shop_reply" else ids[0])
    reason = (action.reason or "").strip()
    if action.action == "handoff":
        return OwnershipChange("own", ids, thread, reason or _HANDOFF_REASON, action.message_key)
    if action.action == "shop_reply":
        return OwnershipChange(
            "own",
            ids,
            thread,
            reason or SHOP_REPLY_REASON,
            action.message_key,
            unless_sent_by_ledger=action.message_id,
        )
    return OwnershipChange("touch", ids, thread, reason, action.message_key)


_GROUP = text(
    "SELECT thread FROM thread_owners WHERE thread_id = ANY(CAST(:ids AS text[])) "
    "ORDER BY (released_at IS NULL) DESC, last_activity_at DESC LIMIT 1"
)
_OWNED_GROUP = text(
    "SELECT thread, reason FROM thread_owners WHERE thread_id = ANY(CAST(:ids AS text[])) "
    "AND released_at IS NULL ORDER BY last_activity_at DESC LIMIT 1"
)
# A colleague's reply already recorded (seen in INBOX and again in Sent, or re-reported
# after a restart) changes nothing: it must not re-own a thread the operator released.
_SEEN = text("SELECT 1 FROM thread_owners WHERE thread_id = ANY(CAST(:ids AS text[])) LIMIT 1")
_OURS = text("SELECT 1 FROM send_ledger WHERE smtp_message_id = ANY(CAST(:ids AS text[])) LIMIT 1")
_OWN = text(
    """
    INSERT INTO thread_owners AS t
        (thread_id, thread, reason, message_key, owned_since, last_activity_at, updated_at)
    SELECT id, :thread, :reason, :message_key, now(), now(), now()
    FROM unnest(CAST(:ids AS text[])) AS id
    ON CONFLICT (thread_id) DO UPDATE SET
        thread = EXCLUDED.thread,
        reason = EXCLUDED.reason,
        message_key = EXCLUDED.message_key,
        owned_since = CASE WHEN t.released_at IS NULL THEN t.owned_since ELSE now() END,
        last_activity_at = now(),
        released_at = NULL,
        released_by = NULL,
        updated_at = now()
    """
)
_EXTEND = text(
    """
    INSERT INTO thread_owners AS t
        (thread_id, thread, reason, message_key, owned_since, last_activity_at, updated_at)
    SELECT id, :thread, :reason, :message_key, now(), now(), now()
    FROM unnest(CAST(:ids AS text[])) AS id
    ON CONFLICT (thread_id) DO NOTHING
    """
)
# A row's message_key stays the mail whose hand-off (or the shop message) made it owned,
# or the later mail that added it: the responder never holds a mail's own ownership
# against it (a hand-off redelivered after a crash is decided again, as a hand-off).
_FRESHEN = text(
    "UPDATE thread_owners SET last_activity_at = now(), updated_at = now() "
    "WHERE thread = :thread AND released_at IS NULL"
)


def _bracketed(message_id: str) -> list[str]:
    bare = message_id.strip().strip("<>")
    return [f"<{bare}>", bare]


class OwnerStore:
    """``thread_owners`` in PostgreSQL (ingest writes; the admin API releases)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def apply(self, change: OwnershipChange) -> str:
        """Apply ``change`` in one transaction; returns what happened (for the log)."""
        ids = list(change.thread_ids)
        async with self._engine.begin() as conn:
            if change.unless_sent_by_ledger:
                mine = {"ids": _bracketed(change.unless_sent_by_ledger)}
                if (await conn.execute(_OURS, mine)).first() is not None:
                    return "ours"
                if (await conn.execute(_SEEN, mine)).first() is not None:
                    return "seen"
            if change.kind == "touch":
                row = (await conn.execute(_OWNED_GROUP, {"ids": ids})).first()
                if row is None:
                    return "not_owned"  # released (or never owned) meanwhile
                thread, reason = str(row[0]), str(row[1])
                await conn.execute(
                    _EXTEND,
                    {
                        "ids": ids,
                        "thread": thread,
                        "reason": reason,
                        "message_key": change.message_key,
                    },
                )
                await conn.execute(_FRESHEN, {"thread": thread})
                return "touched"
            existing = (await conn.execute(_GROUP, {"ids": ids})).first()
            thread = str(existing[0]) if existing is not None else change.thread
            await conn.execute(
                _OWN,
                {
                    "ids": ids,
                    "thread": thread,
                    "reason": change.reason[:_MAX_REASON],
                    "message_key": change.message_key,
                },
            )
            await conn.execute(_FRESHEN, {"thread": thread})
            return "owned"
