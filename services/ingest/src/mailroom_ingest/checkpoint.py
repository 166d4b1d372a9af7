"""Where each mailbox folder is: UIDVALIDITY and last published UID, in PostgreSQL.

The worker saves a checkpoint only after Kafka acknowledged every mail up to it, so a
crash republishes at most the mails after the last checkpoint (consumers deduplicate
by ``message_key``) and never loses one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.db.models import IngestCheckpoint

__all__ = ["Checkpoint", "CheckpointStore"]

_TABLE = IngestCheckpoint.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


class CheckpointStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, mailbox: str, folder: str) -> Checkpoint | None:
        query = select(_TABLE.c.uidvalidity, _TABLE.c.last_uid).where(
            _TABLE.c.mailbox == mailbox, _TABLE.c.folder == folder
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else Checkpoint(int(row[0]), int(row[1]))

    async def save(self, mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        stmt = insert(_TABLE).values(
            mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[_TABLE.c.mailbox, _TABLE.c.folder],
            set_={"uidvalidity": uidvalidity, "last_uid": last_uid, "updated_at": func.now()},
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)
