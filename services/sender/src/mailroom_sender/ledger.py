"""The send ledger in PostgreSQL: at most one message per (task, kind), ever.

State machine of a ``send_ledger`` row::

    (none) ──claim──> sending ──SMTP 250──> sent
    pending ─claim─^     │ 4xx / refused ──> pending   (retried later)
                         │ 5xx ────────────> failed
                         │ lost in DATA ───> uncertain
                         └ crash ──────────> (found at redelivery/start-up) ─> crash rule
    guards ─────────────────────────────────> suppressed

``sending`` is committed *before* the SMTP transaction starts, so after a crash a row in
``sending`` is the only sign that a message may have reached the server.

Cost per message (it bounds throughput): a claim is four round trips (``BEGIN`` + the
recipient's and thread's advisory locks, one statement reading the row, the suppression
and the guard counts, one write, ``COMMIT``) and ``sent`` is one ``UPDATE`` shared by
every worker whose message was accepted meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from mailroom_common.db.models import LedgerState

from .guards import AUTO_KINDS, GuardInput, GuardLimits, guard_reason

__all__ = ["Claim", "ClaimAction", "Ledger", "LedgerRow", "SendRequest", "guard_lock_keys"]

_DONE_STATES = frozenset(
    {LedgerState.SENT, LedgerState.UNCERTAIN, LedgerState.FAILED, LedgerState.SUPPRESSED}
)
_COUNTED_STATES = [LedgerState.SENDING, LedgerState.SENT, LedgerState.UNCERTAIN]
_AUTO_KINDS = sorted(AUTO_KINDS)

# The row (locked), the suppression entry and -- for automatic kinds -- the recent sends to
# this recipient and in this thread. A separate statement from the advisory lock on
# purpose: in READ COMMITTED a statement sees the rows committed before *it* started, so
# only a statement issued after the lock was granted counts the sends of the worker that
# held the lock before us.
_FACTS = """
SELECT cur.id, cur.state, cur.attempts, cur.last_error,
       (SELECT reason FROM suppressions WHERE address = $3::text) AS suppressed
FROM (VALUES (1)) AS one
LEFT JOIN LATERAL (
    SELECT id, state, attempts, last_error FROM send_ledger
    WHERE message_key = $1::text AND kind = $2::text FOR UPDATE
) AS cur ON true
"""
_FACTS_WITH_COUNTS = """
SELECT cur.id, cur.state, cur.attempts, cur.last_error,
       (SELECT reason FROM suppressions WHERE address = $3::text) AS suppressed,
       recent.to_recipient, recent.in_thread
FROM (VALUES (1)) AS one
LEFT JOIN LATERAL (
    SELECT id, state, attempts, last_error FROM send_ledger
    WHERE message_key = $1::text AND kind = $2::text FOR UPDATE
) AS cur ON true
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE recipient = $3::text) AS to_recipient,
           count(*) FILTER (WHERE thread_key = $4::text) AS in_thread
    FROM send_ledger
    WHERE kind = ANY($5::text[]) AND state = ANY($6::text[])
      AND updated_at > now() - make_interval(secs => $7::float8)
      AND (recipient = $3::text OR thread_key = $4::text)
      AND NOT (message_key = $1::text AND kind = $2::text)
) AS recent
"""
# A new row is written directly in its decided state (sending or suppressed): nothing else
# can see it before COMMIT, so a 'pending' step in between would only cost an UPDATE.
_INSERT = """
INSERT INTO send_ledger (id, message_key, kind, smtp_message_id, recipient, thread_key,
                         subject, state, attempts, last_error, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), now())
ON CONFLICT DO NOTHING RETURNING id
"""
_UPDATE_CLAIMED = """
UPDATE send_ledger SET state = $2, attempts = attempts + $3, last_error = $4, updated_at = now()
WHERE id = $1 RETURNING attempts
"""
# A message settled without an SMTP transaction of ours: shadowed, discarded, sent by a person.
_RECORD = """
INSERT INTO send_ledger (id, message_key, kind, smtp_message_id, recipient, thread_key,
                         subject, state, attempts, last_error, created_at, updated_at, sent_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text, 0, $9, now(), now(),
        CASE WHEN $8::text = 'sent' THEN now() END)
ON CONFLICT DO NOTHING RETURNING id
"""
_MARK_SENT = """
UPDATE send_ledger SET state = 'sent', last_error = NULL, updated_at = now(), sent_at = now()
WHERE id = ANY($1::uuid[]) AND state = 'sending' RETURNING id
"""


def _lock_key(namespace: str, value: str) -> int:
    digest = hashlib.blake2b(f"{namespace}\x00{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def guard_lock_keys(recipient: str, thread_key: str | None) -> list[int]:
    """Advisory-lock keys a claim holds: its (normalised) recipient and its thread.

    Both guard counts are then exact under concurrency: every claim that could change the
    count for this address or this thread waits for ours to commit. Taken in ascending
    order, so two claims never wait for each other in a cycle. Hashed here rather than
    with ``hashtextextended`` so the locks go in the same round trip as ``BEGIN`` (a
    multi-statement query carries no parameters; integer literals are safe to inline);
    every replica must use this function.
    """
    keys = {_lock_key("recipient", recipient)}
    if thread_key is not None:
        keys.add(_lock_key("thread", thread_key))
    return sorted(keys)


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


class _SentBatcher:
    """Moves accepted rows to ``sent`` with one UPDATE for all workers waiting at once.

    Each caller still waits until *its* row is committed as ``sent`` (the guarantee is
    unchanged); the workers that finished an SMTP transaction while a batch was in flight
    share the next statement instead of running one transaction each.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiting: dict[uuid.UUID, asyncio.Future[bool]] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def mark(self, row_id: uuid.UUID) -> bool:
        future = self._waiting.get(row_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            # Read the outcome even if the caller was cancelled, so it is never "unretrieved".
            future.add_done_callback(_consume)
            self._waiting[row_id] = future
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # Shielded: a cancelled worker must not cancel the statement its neighbours share.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            try:
                async with self._pool.acquire() as conn:
                    rows = await conn.fetch(_MARK_SENT, list(batch))
            except asyncio.CancelledError:
                for future in batch.values():
                    future.cancel()
                raise
            except Exception as exc:
                for future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
            else:
                updated = {row["id"] for row in rows}
                for row_id, future in batch.items():
                    if not future.done():
                        future.set_result(row_id in updated)


def _consume(future: asyncio.Future[bool]) -> None:
    if not future.cancelled():
        future.exception()


class Ledger:
    def __init__(
        self, pool: asyncpg.Pool, limits: GuardLimits, own_addresses: frozenset[str]
    ) -> None:
        self._pool = pool
        self._limits = limits
        self._own = frozenset(a.strip().lower() for a in own_addresses)
        self._sent = _SentBatcher(pool)

    async def claim(self, req: SendRequest) -> Claim:
        """Insert or find the row and, if it may be sent now, move it to ``sending``.

        One transaction under the recipient's and the thread's advisory locks: the cap
        checks and the move to ``sending`` are atomic across workers and replicas, so two
        messages to the same address (or thread) cannot both slip under the limit.
        """
        recipient = req.recipient.strip().lower()
        begin = "BEGIN;" + "".join(
            f" SELECT pg_advisory_xact_lock({key});"
            for key in guard_lock_keys(recipient, req.thread_key)
        )
        async with self._pool.acquire() as conn:
            # Two tries: a concurrent insert of the same (key, kind) under other locks (a
            # record whose recipient and thread changed) makes the first one find no row yet
            # lose the insert; the second one sees that row.
            for _ in range(2):
                await conn.execute(begin)
                try:
                    claim = await self._claim_locked(conn, req, recipient)
                except asyncio.CancelledError:
                    raise  # the pool rolls back once the cancelled query has stopped
                except BaseException:
                    with contextlib.suppress(Exception):
                        await conn.execute("ROLLBACK")
                    raise
                if claim is None:
                    await conn.execute("ROLLBACK")
                    continue
                await conn.execute("COMMIT")
                return claim
        raise RuntimeError(f"ledger claim for {req.message_key!r} kept conflicting")

    async def _claim_locked(
        self, conn: asyncpg.Connection, req: SendRequest, recipient: str
    ) -> Claim | None:
        auto = req.kind in AUTO_KINDS
        if auto:
            facts = await conn.fetchrow(
                _FACTS_WITH_COUNTS,
                req.message_key,
                req.kind,
                recipient,
                req.thread_key,
                _AUTO_KINDS,
                _COUNTED_STATES,
                float(self._limits.window_s),
            )
        else:
            facts = await conn.fetchrow(_FACTS, req.message_key, req.kind, recipient)
        assert facts is not None  # the outer VALUES row is always there
        row_id: uuid.UUID | None = facts["id"]
        if row_id is not None:
            state, attempts = str(facts["state"]), int(facts["attempts"])
            if state in _DONE_STATES:
                return Claim(ClaimAction.SKIP, row_id, state, attempts, facts["last_error"])
            if state == LedgerState.SENDING:
                return Claim(ClaimAction.ORPHAN, row_id, state, attempts)
        reason = guard_reason(
            GuardInput(
                kind=req.kind,
                recipient=recipient,
                own_addresses=self._own,
                suppressed_reason=facts["suppressed"],
                recent_to_recipient=int(facts["to_recipient"]) if auto else 0,
                recent_in_thread=int(facts["in_thread"]) if auto else 0,
            ),
            self._limits,
        )
        new_state = LedgerState.SUPPRESSED if reason is not None else LedgerState.SENDING
        action = ClaimAction.GUARDED if reason is not None else ClaimAction.SEND
        bump = 0 if reason is not None else 1
        if row_id is None:
            new_id = uuid.uuid4()
            inserted = await conn.fetchval(
                _INSERT,
                new_id,
                req.message_key,
                req.kind,
                req.smtp_message_id,
                recipient,
                req.thread_key,
                req.subject,
                new_state,
                bump,
                reason,
            )
            if inserted is None:
                return None
            return Claim(action, new_id, new_state, bump, reason)
        attempts = await conn.fetchval(_UPDATE_CLAIMED, row_id, new_state, bump, reason)
        return Claim(action, row_id, new_state, int(attempts), reason)

    async def record(
        self, req: SendRequest, state: str, reason: str, conn: asyncpg.Connection | None = None
    ) -> bool:
        """Settle (task, kind) without sending: ``suppressed`` (shadow mode, a discarded
        draft) or ``sent`` (a person sent it from the mailbox). From then on every claim
        skips it, so nothing can send it. False if the ledger had a row for it already."""
        args: list[Any] = [uuid.uuid4(), req.message_key, req.kind, req.smtp_message_id]
        args += [req.recipient.strip().lower(), req.thread_key, req.subject, state, reason]
        if conn is not None:
            return await conn.fetchval(_RECORD, *args) is not None
        async with self._pool.acquire() as own:
            return await own.fetchval(_RECORD, *args) is not None

    async def state_of(self, message_key: str, kind: str) -> tuple[str, str | None] | None:
        """(state, last_error) of the row of (task, kind), if there is one."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT state, last_error FROM send_ledger WHERE message_key = $1 AND kind = $2",
                message_key,
                kind,
            )
        return None if row is None else (str(row["state"]), row["last_error"])

    async def _set(
        self, row_id: uuid.UUID, state: str, error: str | None, *, from_state: str | None
    ) -> bool:
        guard = " AND state = $4" if from_state else ""
        args: list[Any] = [row_id, state, error]
        if from_state:
            args.append(from_state)
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                "UPDATE send_ledger SET state = $2, last_error = $3, updated_at = now()"  # noqa: S608
                f" WHERE id = $1{guard}",
                *args,
            )
        return str(status) != "UPDATE 0"

    async def mark_sent(self, row_id: uuid.UUID) -> bool:
        """``sending`` → ``sent``; returns once committed (batched with other workers)."""
        return await self._sent.mark(row_id)

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
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, message_key, kind, smtp_message_id, recipient, thread_key,"
                " attempts FROM send_ledger WHERE state = 'sending'"
                " AND updated_at < now() - make_interval(secs => $1::float8)"
                " ORDER BY updated_at",
                float(older_than_s),
            )
        return [LedgerRow(*r.values()) for r in rows]  # the columns in LedgerRow's order

    async def suppress(self, address: str, reason: str) -> bool:
        """Add an address to the suppression list; False if it was already there."""
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                "INSERT INTO suppressions (address, reason, created_at)"
                " VALUES ($1, $2, now()) ON CONFLICT (address) DO NOTHING",
                address.strip().lower(),
                reason,
            )
        return str(status) != "INSERT 0 0"
