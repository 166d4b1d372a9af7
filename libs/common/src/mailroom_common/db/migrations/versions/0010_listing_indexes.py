"""Indexes for the windowed figures (console Today, /v1/stats) on a shop-sized database.

Every figure of a window (the last 24 h, the last 14 days) filters ``email_tasks`` by
``created_at``; the task list filters by sender, case-insensitive; the waiting list orders
hand-offs by their status time; the hand-off reasons filter ``task_status_changes`` by
status and time. Without these indexes each was a scan of the whole table (see
bench/console_bench.py). Plain CREATE INDEX: it blocks writes to the table while it builds
(seconds at 100k rows).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # With status and route in the index, the per-day figures read the index alone.
    op.create_index(
        "ix_email_tasks_created_at",
        "email_tasks",
        ["created_at"],
        postgresql_include=["status", "route"],
    )
    # The task list's sender filter is case-insensitive.
    op.create_index("ix_email_tasks_sender_lower", "email_tasks", [sa.text("lower(from_address)")])
    # The waiting list (GET /v1/handoffs, the console): oldest first, over the statuses
    # that wait for a person (mailroom_admin_api.waiting.WAITING_STATUSES) only.
    op.create_index(
        "ix_email_tasks_waiting",
        "email_tasks",
        [sa.text("coalesce(status_at, created_at)"), "id"],
        postgresql_where=sa.text("status IN ('handoff', 'human_owned')"),
    )
    op.create_index(
        "ix_task_status_changes_status_occurred",
        "task_status_changes",
        ["status", "occurred_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_task_status_changes_status_occurred", table_name="task_status_changes")
    op.drop_index("ix_email_tasks_sender_lower", table_name="email_tasks")
    op.drop_index("ix_email_tasks_waiting", table_name="email_tasks")
    op.drop_index("ix_email_tasks_created_at", table_name="email_tasks")
