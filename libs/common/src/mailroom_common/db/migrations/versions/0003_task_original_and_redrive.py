"""The original email on the task, and the redrive sweep's bookkeeping.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: tasks from before this revision (and ignored/rejected mail) have none.
    op.add_column(
        "email_tasks",
        sa.Column(
            "original",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )
    # The server default fills existing rows without a table-wide UPDATE.
    op.add_column(
        "email_tasks",
        sa.Column("redrive_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "email_tasks", sa.Column("redrive_alerted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_email_tasks_status_updated", "email_tasks", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_email_tasks_status_updated", table_name="email_tasks")
    op.drop_column("email_tasks", "redrive_alerted_at")
    op.drop_column("email_tasks", "redrive_count")
    op.drop_column("email_tasks", "original")
