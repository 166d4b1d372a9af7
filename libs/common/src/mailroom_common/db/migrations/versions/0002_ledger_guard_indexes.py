"""Indexes for the sender's loop guards.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 01:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_send_ledger_recipient_updated", "send_ledger", ["recipient", "updated_at"])
    op.create_index("ix_send_ledger_thread_updated", "send_ledger", ["thread_key", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_send_ledger_thread_updated", table_name="send_ledger")
    op.drop_index("ix_send_ledger_recipient_updated", table_name="send_ledger")
