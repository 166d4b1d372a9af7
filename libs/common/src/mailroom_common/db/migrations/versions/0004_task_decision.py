"""The routing decision on the task: why each email went where it went.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # All nullable, no defaults: adding them rewrites nothing; older tasks have none.
    op.add_column(
        "email_tasks",
        sa.Column(
            "decision",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )
    op.add_column("email_tasks", sa.Column("decision_reason", sa.Text(), nullable=True))
    op.add_column("email_tasks", sa.Column("confidence", sa.Float(), nullable=True))
    op.add_column(
        "email_tasks", sa.Column("decision_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("email_tasks", "decision_at")
    op.drop_column("email_tasks", "confidence")
    op.drop_column("email_tasks", "decision_reason")
    op.drop_column("email_tasks", "decision")
