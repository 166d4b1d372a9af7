"""The send ledger in PostgreSQL: at most one message per (task, kind), ever.

State machine of a ``send_ledger`` row::

    pending ──claim──> sending ──SMTP 250──> sent
       ^                  │ 4xx / refused ──> pending   (retried later)
       │                  │ 5xx ────────────> failed
       │                  │ lost in DATA ───> uncertain
       │                  └ crash ──────────> (found at redelivery/start-up) ─> crash rule
    guards ──────────────────────────────────> suppressed

``sending`` is committed *before* the SMTP transaction starts, so after a crash a row in
``sending`` is the only sign that a message may have reached the server.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mailroom_common.db.models import LedgerState

from .guards import AUTO_KINDS, GuardInput, GuardLimits, guard_reason

__all__ = ["Claim", "ClaimAction", "Ledger", "LedgerRow", "SendRequest"]

_DONE_STATES = frozenset(
    {LedgerState.SENT, LedgerState.UNCERTAIN, LedgerState.FAILED, LedgerState.SUPPRESSED}
)
_COUNTED_STATES = (LedgerState.SENDING, LedgerState.SENT, LedgerState.UNCERTAIN)


class ClaimAction(enum.StrEnum):
    SEND = "send"  # the row is ours in 'sending': go ahead with SMTP
    SKIP = "skip"  # already finished earlier (sent/failed/uncertain/suppressed)
    GUARDED = "guarded"  # a loop guard stopped it; recorded as suppressed
    ORPHAN = "orphan"  # left in 'sending' by a crashed attempt: apply the crash rule


@dataclass(frozen=True, slots=True)
class SendRequest:
    message_key: str
    kind: str
    smtp_message_id: str
    recipient: str
    thread_key: str | None
    subject: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    action: ClaimAction
    row_id: uuid.UUID
    state: str
    attempts: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerRow:
    row_id: uuid.UUID
    message_key: str
    kind: str
    smtp_message_id: str
    recipient: str
    thread_key: str | None
    attempts: int


class Ledger:
    def __init__(
        self, engine: AsyncEngine, limits: GuardLimits, own_addresses: frozenset[str]
    ) -> None:
        self._engine = engine
        self._limits = limits
        self._own = frozenset(a.strip().lower() for a in own_addresses)

    async def claim(self, req: SendRequest) -> Claim:
        """Insert or find the row and, if it may be sent now, move it to ``sending``.

        One transaction: the recipient's advisory lock makes the cap check and the move to
        ``sending`` atomic across workers and replicas, so two messages to the same address
        cannot both slip under the limit.
        """
        recipient = req.recipient.strip().lower()
        async with self._engine.begin() as conn:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:r, 0))"), {"r": recipient}
            )
            inserted = await conn.execute(
                text(
                    "INSERT INTO send_ledger (id, message_key, kind, smtp_message_id, recipient,"
                    " thread_key, subject, state, attempts, created_at, updated_at)"
                    " VALUES (:id, :mk, :kind, :mid, :rcpt, :thread, :subject, 'pending', 0,"
                    " now(), now()) ON CONFLICT DO NOTHING RETURNING id"
                ),
                {
                    "id": uuid.uuid4(),
                    "mk": req.message_key,
                    "kind": req.kind,
                    "mid": req.smtp_message_id,
                    "rcpt": recipient,
                    "thread": req.thread_key,
                    "subject": req.subject,
                },
            )
            new_id = inserted.scalar_one_or_none()
            row = (
                await conn.execute(
                    text(
                        "SELECT id, state, attempts, last_error FROM send_ledger"
                        " WHERE message_key = :mk AND kind = :kind FOR UPDATE"
                    ),
                    {"mk": req.message_key, "kind": req.kind},
                )
            ).one()
            row_id, state, attempts = row.id, row.state, row.attempts
            if new_id is None and state in _DONE_STATES:
                return Claim(ClaimAction.SKIP, row_id, state, attempts, row.last_error)
            if state == LedgerState.SENDING:
                return Claim(ClaimAction.ORPHAN, row_id, state, attempts)
            reason = await self._guard(conn, req.kind, recipient, req.thread_key, row_id)
            if reason is not None:
                await conn.execute(
                    text(
                        "UPDATE send_ledger SET state = 'suppressed', last_error = :reason,"
                        " updated_at = now() WHERE id = :id"
                    ),
                    {"id": row_id, "reason": reason},
                )
                return Claim(ClaimAction.GUARDED, row_id, LedgerState.SUPPRESSED, attempts, reason)
            await conn.execute(
                text(
                    "UPDATE send_ledger SET state = 'sending', attempts = attempts + 1,"
                    " updated_at = now() WHERE id = :id"
                ),
                {"id": row_id},
            )
            return Claim(ClaimAction.SEND, row_id, LedgerState.SENDING, attempts + 1)

    async def _guard(
        self,
        conn: AsyncConnection,
        kind: str,
        recipient: str,
        thread_key: str | None,
        row_id: uuid.UUID,
    ) -> str | None:
        suppressed = (
            await conn.execute(
                text("SELECT reason FROM suppressions WHERE address = :a"), {"a": recipient}
            )
        ).scalar_one_or_none()
        to_recipient = in_thread = 0
        if kind in AUTO_KINDS and suppressed is None:
            params = {
                "r": recipient,
                "t": thread_key,
                "id": row_id,
                "kinds": list(AUTO_KINDS),
                "states": list(_COUNTED_STATES),
                "window": float(self._limits.window_s),
            }
            counts = (
                await conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE recipient = CAST(:r AS text))"
                        " AS to_recipient,"
                        " count(*) FILTER (WHERE thread_key = CAST(:t AS text)) AS in_thread"
                        " FROM send_ledger WHERE id <> :id AND kind = ANY(:kinds)"
                        " AND state = ANY(:states)"
                        " AND updated_at > now() - make_interval(secs => :window)"
                        " AND (recipient = CAST(:r AS text) OR thread_key = CAST(:t AS text))"
                    ),
                    params,
                )
            ).one()
            to_recipient, in_thread = int(counts.to_recipient), int(counts.in_thread)
        return guard_reason(
            GuardInput(
                kind=kind,
                recipient=recipient,
                own_addresses=self._own,
                suppressed_reason=suppressed,
                recent_to_recipient=to_recipient,
                recent_in_thread=in_thread,
            ),
            self._limits,
        )

    async def _set(
        self, row_id: uuid.UUID, state: str, error: str | None, *, from_state: str | None
    ) -> bool:
        sent_at = ", sent_at = now()" if state == LedgerState.SENT else ""
        guard = " AND state = :from_state" if from_state else ""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                text(
                    f"UPDATE send_ledger SET state = :state, last_error = :error,"  # noqa: S608
                    f" updated_at = now(){sent_at} WHERE id = :id{guard}"
                ),
                {"id": row_id, "state": state, "error": error, "from_state": from_state},
            )
            return bool(result.rowcount)

    async def mark_sent(self, row_id: uuid.UUID) -> bool:
        return await self._set(row_id, LedgerState.SENT, None, from_state=LedgerState.SENDING)

    async def mark_retry(self, row_id: uuid.UUID, error: str) -> bool:
        """The server did not take it: back to ``pending`` until the retry is due."""
        return await self._set(row_id, LedgerState.PENDING, error, from_state=LedgerState.SENDING)

    async def mark_failed(self, row_id: uuid.UUID, error: str) -> bool:
        return await self._set(row_id, LedgerState.FAILED, error, from_state=None)

    async def mark_uncertain(self, row_id: uuid.UUID, reason: str) -> bool:
        return await self._set(
            row_id, LedgerState.UNCERTAIN, reason, from_state=LedgerState.SENDING
        )

    async def stale_sending(self, older_than_s: float) -> list[LedgerRow]:
        """Rows left in ``sending`` for longer than any live attempt could take."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT id, message_key, kind, smtp_message_id, recipient, thread_key,"
                    " attempts FROM send_ledger WHERE state = 'sending'"
                    " AND updated_at < now() - make_interval(secs => :age) ORDER BY updated_at"
                ),
                {"age": float(older_than_s)},
            )
            return [
                LedgerRow(
                    r.id,
                    r.message_key,
                    r.kind,
                    r.smtp_message_id,
                    r.recipient,
                    r.thread_key,
                    r.attempts,
                )
                for r in rows
            ]

    async def suppress(self, address: str, reason: str) -> bool:
        """Add an address to the suppression list; False if it was already there."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                text(
                    "INSERT INTO suppressions (address, reason, created_at)"
                    " VALUES (:a, :r, now()) ON CONFLICT (address) DO NOTHING"
                ),
                {"a": address.strip().lower(), "r": reason},
            )
            return bool(result.rowcount)
