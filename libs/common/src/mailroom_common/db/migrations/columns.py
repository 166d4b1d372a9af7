"""Column builders the migrations share (a migration's output must never change: only add)."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["timestamp"]


def timestamp(name: str, *, nullable: bool = True, default_now: bool = False) -> sa.Column[object]:
    """A ``timestamptz`` column, optionally defaulting to ``now()``."""
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if default_now else None,
        nullable=nullable,
    )
