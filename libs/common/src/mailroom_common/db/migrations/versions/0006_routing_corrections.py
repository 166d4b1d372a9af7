"""Operators' routing corrections: the route a task should have taken, for a labelled corpus.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table: nothing existing is rewritten. No foreign key to email_tasks, like the
    # other per-message tables (the projector may write the task after a late event).
    op.create_table(
        "routing_corrections",
        sa.Column("message_key", sa.String(length=998), nullable=False),
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column(
            "product_skus",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("decided_route", sa.String(length=32), nullable=True),
        sa.Column("corrected_by", sa.String(length=255), nullable=False),
        sa.Column(
            "corrected_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("message_key"),
    )


def downgrade() -> None:
    op.drop_table("routing_corrections")
