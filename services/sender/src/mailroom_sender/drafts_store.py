"""``reply_drafts`` in PostgreSQL (asyncpg, the send path's pool).

A draft is claimed (inserted in ``filing``, committed) *before* the IMAP APPEND, so after a
crash the row says "it may be in Drafts already" and the filer looks before it appends.
Every change of state happens under the row's lock (``locked``), so the approval, the
discard and the Sent watcher never both act on one draft.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from mailroom_common.db.models import DraftState
from mailroom_common.events import OutboundEmail

from .work import Prepared

__all__ = ["DraftRow", "DraftStore"]

_COLUMNS = (
    "id, message_key, kind, smtp_message_id, thread_key, recipient, subject, body_text,"
    " route, outbound, folder, state, decided_by, created_at, removed_at"
)
_CLAIM = f"""
INSERT INTO reply_drafts (id, message_key, kind, smtp_message_id, thread_key, recipient,
                          subject, body_text, route, outbound, state, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, 'filing', now(), now())
ON CONFLICT DO NOTHING RETURNING {_COLUMNS}
"""  # noqa: S608 (constant column list)
_FINAL = [DraftState.SENT, DraftState.SENT_BY_PERSON, DraftState.DISCARDED]


@dataclass(frozen=True, slots=True)
class DraftRow:
    id: uuid.UUID
    message_key: str
    kind: str
    smtp_message_id: str
    thread_key: str | None
    recipient: str
    subject: str | None
    body_text: str
    route: str | None
    outbound: dict[str, Any]
    folder: str | None
    state: str
    decided_by: str | None
    created_at: datetime
    removed_at: datetime | None

    @classmethod
    def of(cls, record: asyncpg.Record) -> DraftRow:
        values = dict(record)
        if isinstance(values["outbound"], str):
            values["outbound"] = json.loads(values["outbound"])
        return cls(**values)

    def outbound_email(self) -> OutboundEmail:
        """The outbound event drafted, with the draft's (possibly edited) text."""
        out = OutboundEmail.model_validate(self.outbound)
        if out.body_text == self.body_text:
            return out
        return out.model_copy(update={"body_text": self.body_text, "body_html": None})


class DraftStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, p: Prepared, out: OutboundEmail) -> tuple[DraftRow, bool]:
        """The draft row of (task, kind): newly claimed in ``filing`` (True), or as it is."""
        mail = p.mail
        async with self._pool.acquire() as conn:
            record = await conn.fetchrow(
                _CLAIM,
                uuid.uuid4(),
                mail.message_key,
                mail.kind,
                p.smtp_message_id,
                p.target.thread_key,
                mail.to,
                mail.subject,
                mail.body_text,
                out.route.value if out.route else None,
                out.model_dump_json(),
            )
            if record is not None:
                return DraftRow.of(record), True
            record = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM reply_drafts WHERE message_key = $1 AND kind = $2",  # noqa: S608
                mail.message_key,
                mail.kind,
            )
        assert record is not None  # the conflict was on (message_key, kind) or the Message-ID
        return DraftRow.of(record), False

    async def for_key(self, message_key: str) -> list[DraftRow]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM reply_drafts WHERE message_key = $1 ORDER BY created_at",  # noqa: S608
                message_key,
            )
        return [DraftRow.of(r) for r in rows]

    @contextlib.asynccontextmanager
    async def locked(
        self, draft_id: uuid.UUID
    ) -> AsyncIterator[tuple[asyncpg.Connection, DraftRow]]:
        """The row, locked until the block ends (committed, or rolled back on an error)."""
        async with self._pool.acquire() as conn, conn.transaction():
            record = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM reply_drafts WHERE id = $1 FOR UPDATE",  # noqa: S608
                draft_id,
            )
            assert record is not None  # drafts are never deleted
            yield conn, DraftRow.of(record)

    @staticmethod
    async def set_state(
        conn: asyncpg.Connection,
        draft_id: uuid.UUID,
        state: str,
        *,
        folder: str | None = None,
        body_text: str | None = None,
        decided_by: str | None = None,
    ) -> None:
        await conn.execute(
            "UPDATE reply_drafts SET state = $2::text, updated_at = now(),"
            " folder = COALESCE($3::text, folder), body_text = COALESCE($4::text, body_text),"
            " decided_by = COALESCE($5::text, decided_by),"
            " decided_at = CASE WHEN $5::text IS NULL THEN decided_at ELSE now() END,"
            " filed_at = CASE WHEN $2::text = 'filed' THEN now() ELSE filed_at END"
            " WHERE id = $1",
            draft_id,
            state,
            folder,
            body_text,
            decided_by,
        )

    async def mark_sent(self, draft_id: uuid.UUID) -> None:
        """approved → sent, once the ledger says the message went out."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE reply_drafts SET state = 'sent', updated_at = now()"
                " WHERE id = $1 AND state = 'approved'",
                draft_id,
            )

    async def mark_removed(self, draft_id: uuid.UUID) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE reply_drafts SET removed_at = now(), updated_at = now() WHERE id = $1",
                draft_id,
            )

    async def pending(self, limit: int = 1000) -> list[DraftRow]:
        """Drafts waiting for a person, oldest first."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM reply_drafts WHERE state = 'filed'"  # noqa: S608
                " ORDER BY created_at LIMIT $1",
                limit,
            )
        return [DraftRow.of(r) for r in rows]

    async def left_in_drafts(self, limit: int = 100) -> list[DraftRow]:
        """Settled drafts whose copy in the Drafts folder was not removed yet."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM reply_drafts WHERE state = ANY($1::text[])"  # noqa: S608
                " AND removed_at IS NULL AND folder IS NOT NULL ORDER BY updated_at LIMIT $2",
                _FINAL,
                limit,
            )
        return [DraftRow.of(r) for r in rows]

    async def ledger_ids(self, message_ids: Sequence[str]) -> set[str]:
        """Which of these Message-IDs the send ledger has (mailroom's own messages)."""
        if not message_ids:
            return set()
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT smtp_message_id FROM send_ledger WHERE smtp_message_id = ANY($1::text[])",
                list(message_ids),
            )
        return {str(r["smtp_message_id"]) for r in rows}
