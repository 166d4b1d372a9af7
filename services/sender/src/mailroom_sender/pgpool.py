"""The ledger's own asyncpg pool: the send path's database round trips, and nothing else.

The ledger is on the hot path of every message, so it talks to asyncpg directly instead
of through the SQLAlchemy engine (used by the projector), whose checkout costs three round
trips (``pool_pre_ping`` wraps a ping in BEGIN/ROLLBACK) before the first statement.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from mailroom_common.config import DatabaseSettings

__all__ = ["asyncpg_connect_args", "open_pool"]


# Query options of the SQLAlchemy asyncpg dialect that are connect() keywords, not libpq DSN
# options (asyncpg would send unknown ones to the server as settings and fail).
_DIALECT_OPTIONS = {"ssl": "ssl", "prepared_statement_cache_size": "statement_cache_size"}


def asyncpg_connect_args(database: DatabaseSettings) -> tuple[str, dict[str, Any]]:
    """The SQLAlchemy URL (``postgresql+asyncpg://…``) as a DSN plus connect() keywords."""
    url = make_url(database.url.get_secret_value())
    query = dict(url.query)
    kwargs: dict[str, Any] = {}
    for option, keyword in _DIALECT_OPTIONS.items():
        if option in query:
            value = query.pop(option)
            text = value if isinstance(value, str) else value[-1]
            kwargs[keyword] = int(text) if keyword == "statement_cache_size" else text
    dsn = url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)
    return dsn, kwargs


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (a round trip per release).

    The ledger never changes session state: its advisory locks are transaction-scoped and
    an unfinished transaction is still rolled back by asyncpg before this is called.
    """
    del conn


async def open_pool(database: DatabaseSettings, size: int) -> asyncpg.Pool:
    dsn, kwargs = asyncpg_connect_args(database)
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        **kwargs,
        min_size=1,
        max_size=size,
        reset=_keep_session,
        # A dead connection is noticed by the failing statement; the record is retried.
        max_inactive_connection_lifetime=300.0,
    )
    return pool
