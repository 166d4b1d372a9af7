"""Thread owners: threads a person owns (handed off, or a colleague wrote in them).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mailroom_common.db.migrations.columns import timestamp as _ts

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table; nothing existing is rewritten.
    op.create_table(
        "thread_owners",
        sa.Column("thread_id", sa.String(length=998), nullable=False),
        sa.Column("thread", sa.String(length=998), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("message_key", sa.String(length=998), nullable=False),
        _ts("owned_since", nullable=False, default_now=True),
        _ts("last_activity_at", nullable=False, default_now=True),
        _ts("released_at"),
        sa.Column("released_by", sa.String(length=255), nullable=True),
        _ts("updated_at", nullable=False, default_now=True),
        sa.PrimaryKeyConstraint("thread_id"),
    )
    op.create_index("ix_thread_owners_updated", "thread_owners", ["updated_at"])
    op.create_index("ix_thread_owners_thread", "thread_owners", ["thread"])


def downgrade() -> None:
    op.drop_index("ix_thread_owners_thread", table_name="thread_owners")
    op.drop_index("ix_thread_owners_updated", table_name="thread_owners")
    op.drop_table("thread_owners")
