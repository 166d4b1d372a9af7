"""The index of threads a person owns, kept from PostgreSQL (``thread_owners``).

``run`` (a start-up task) loads the owned rows, retrying with backoff while PostgreSQL is
unreachable, then every ``refresh_s`` reads the rows changed since its last look (with an
overlap, so a transaction that committed late is not missed). ``owner_of`` (the inbound
path) waits for the first load: until the bot knows which threads are a person's, it
answers none. A failed refresh keeps what is known and tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.logging import get_logger
from mailroom_responder.outcomes import Emission
from mailroom_responder.ownership import OwnerIndex, OwnerRow, handed_off

__all__ = ["OwnerCache"]

log = get_logger("mailroom_responder.owners")

# Longer than any transaction that writes thread_owners (ingest's upserts are one round
# trip): a row whose updated_at is older than the last look but committed after it is
# read again.
_OVERLAP_S = 30.0
_COLUMNS = "thread_id, thread, reason, last_activity_at, released_at, updated_at, message_key"
_OWNED = text(
    f"SELECT {_COLUMNS}, now() AS db_now FROM thread_owners "  # noqa: S608 - constant
    "WHERE released_at IS NULL AND last_activity_at > now() - make_interval(secs => :quiet)"
)
_CHANGED = text(
    f"SELECT {_COLUMNS}, now() AS db_now FROM thread_owners "  # noqa: S608 - constant
    "WHERE updated_at > :since"
)
_NOW = text("SELECT now()")


def _epoch(value: datetime) -> float:
    return value.timestamp()


class OwnerCache:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        quiet_s: float,
        refresh_s: float = 5.0,
        retry_max_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self.index = OwnerIndex(quiet_s)
        self.refresh_s = refresh_s
        self.retry_max_s = retry_max_s
        self._clock = clock
        self._since: datetime | None = None
        self._loaded = asyncio.Event()
        self.failures = 0

    @property
    def ready(self) -> bool:
        return self._loaded.is_set()

    async def owner_of(self, thread_ids: Sequence[str], message_key: str) -> str | None:
        """Why a person owns the thread of the mail ``message_key`` names, or None."""
        await self._loaded.wait()
        return self.index.owner_of(thread_ids, self._clock(), message_key)

    def note(self, thread_ids: Sequence[str], reason: str, message_key: str) -> None:
        self.index.note(thread_ids, reason, self._clock(), message_key)

    def observe(self, emission: Emission) -> None:
        """Called for every event the responder publishes: hand-offs are noted at once."""
        found = handed_off(emission)
        if found is not None:
            self.note(*found)

    async def load(self) -> int:
        """One look at the database: everything owned first, then what changed."""
        async with self._engine.connect() as conn:
            if self._since is None:
                result = await conn.execute(_OWNED, {"quiet": self.index.quiet_s})
            else:
                result = await conn.execute(_CHANGED, {"since": self._since})
            fetched = result.all()
            db_now = fetched[0][7] if fetched else (await conn.execute(_NOW)).scalar_one()
        rows = [
            OwnerRow(
                thread_id=str(r[0]),
                thread=str(r[1]),
                reason=str(r[2]),
                last_activity=_epoch(r[3]),
                released=r[4] is not None,
                updated=_epoch(r[5]),
                message_key=str(r[6]),
            )
            for r in fetched
        ]
        self.index.merge(rows, self._clock())
        self._since = datetime.fromtimestamp(db_now.timestamp() - _OVERLAP_S, db_now.tzinfo)
        if not self._loaded.is_set():
            self._loaded.set()
            log.info("owners.loaded", owned_ids=len(self.index))
        return len(rows)

    async def run(self) -> None:
        """Load, then refresh every ``refresh_s`` until cancelled."""
        while True:
            try:
                await self.load()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                delay = min(self.retry_max_s, float(2 ** min(self.failures, 5)))
                log.warning(
                    "owners.load_failed",
                    failures=self.failures,
                    delay_s=delay,
                    error=repr(exc)[:300],
                )
                await asyncio.sleep(delay)
                continue
            if self.failures:
                log.info("owners.recovered", failures=self.failures)
            self.failures = 0
            await asyncio.sleep(self.refresh_s)
