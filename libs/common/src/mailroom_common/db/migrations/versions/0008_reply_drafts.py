"""Reply drafts: replies filed in the mailbox's Drafts folder for a person (answer mode draft).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from mailroom_common.db.migrations.columns import timestamp as _ts

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table: nothing existing is rewritten. No foreign key to email_tasks, like the
    # other per-message tables (the projector may write the task after the sender's row).
    op.create_table(
        "reply_drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_key", sa.String(length=998), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("smtp_message_id", sa.String(length=998), nullable=False),
        sa.Column("thread_key", sa.String(length=998), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("body_text", sa.String(), nullable=False),
        sa.Column("route", sa.String(length=32), nullable=True),
        sa.Column(
            "outbound",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("folder", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        _ts("decided_at"),
        _ts("filed_at"),
        _ts("removed_at"),
        _ts("created_at", nullable=False, default_now=True),
        _ts("updated_at", nullable=False, default_now=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key", "kind", name="uq_reply_drafts_task_kind"),
        sa.UniqueConstraint("smtp_message_id"),
    )
    op.create_index("ix_reply_drafts_state_created", "reply_drafts", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_reply_drafts_state_created", table_name="reply_drafts")
    op.drop_table("reply_drafts")
