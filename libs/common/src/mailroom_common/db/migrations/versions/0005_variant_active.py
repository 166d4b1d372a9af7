"""Variants can be deactivated: a replacing catalogue import hides the ones it no longer lists.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant server default: PostgreSQL adds the column without rewriting the table,
    # and every existing variant stays on offer.
    op.add_column(
        "variants",
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("variants", "active")
