"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 00:46:57.339871
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("message_key", sa.String(length=998), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_alerts_kind"), "alerts", ["kind"], unique=False)
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "conversation_turns",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("thread_key", sa.String(length=998), nullable=False),
        sa.Column("customer_address", sa.String(length=320), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("message_key", sa.String(length=998), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_conversation_turns_customer_address"),
        "conversation_turns",
        ["customer_address"],
        unique=False,
    )
    op.create_index(
        "ix_turns_thread_created", "conversation_turns", ["thread_key", "created_at"], unique=False
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_key", sa.String(length=998), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("error_class", sa.String(length=255), nullable=False),
        sa.Column("error_message", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("original_topic", sa.String(length=255), nullable=False),
        sa.Column(
            "original",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("reprocessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_dead_letters_error_class"), "dead_letters", ["error_class"], unique=False
    )
    op.create_index(
        op.f("ix_dead_letters_message_key"), "dead_letters", ["message_key"], unique=False
    )
    op.create_table(
        "email_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_key", sa.String(length=998), nullable=False),
        sa.Column("thread_key", sa.String(length=998), nullable=True),
        sa.Column("mailbox", sa.String(length=255), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_reason", sa.String(), nullable=True),
        sa.Column("route", sa.String(length=32), nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("reply_text", sa.String(), nullable=True),
        sa.Column("model", sa.String(length=128), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_email_tasks_from_address", "email_tasks", ["from_address"], unique=False)
    op.create_index(op.f("ix_email_tasks_message_key"), "email_tasks", ["message_key"], unique=True)
    op.create_index(op.f("ix_email_tasks_route"), "email_tasks", ["route"], unique=False)
    op.create_index(op.f("ix_email_tasks_status"), "email_tasks", ["status"], unique=False)
    op.create_index(
        "ix_email_tasks_status_created", "email_tasks", ["status", "created_at"], unique=False
    )
    op.create_table(
        "ingest_checkpoints",
        sa.Column("mailbox", sa.String(length=255), nullable=False),
        sa.Column("folder", sa.String(length=255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("mailbox", "folder"),
    )
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("event_id", "consumer"),
    )
    op.create_table(
        "reprocess_requests",
        sa.Column("request_key", sa.String(length=255), nullable=False),
        sa.Column("message_key", sa.String(length=998), nullable=False),
        sa.Column("earlier_trace_id", sa.String(length=32), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("request_key"),
    )
    op.create_index(
        op.f("ix_reprocess_requests_message_key"),
        "reprocess_requests",
        ["message_key"],
        unique=False,
    )
    op.create_table(
        "send_ledger",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_key", sa.String(length=998), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("smtp_message_id", sa.String(length=998), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("thread_key", sa.String(length=998), nullable=True),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key", "kind", name="uq_send_ledger_task_kind"),
        sa.UniqueConstraint("smtp_message_id"),
    )
    op.create_index(
        op.f("ix_send_ledger_message_key"), "send_ledger", ["message_key"], unique=False
    )
    op.create_index(op.f("ix_send_ledger_recipient"), "send_ledger", ["recipient"], unique=False)
    op.create_index(op.f("ix_send_ledger_state"), "send_ledger", ["state"], unique=False)
    op.create_table(
        "suppressions",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "task_status_changes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("message_key", sa.String(length=998), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("service", sa.String(length=64), nullable=True),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index(
        op.f("ix_task_status_changes_message_key"),
        "task_status_changes",
        ["message_key"],
        unique=False,
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("keywords", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku"),
    )
    op.create_index(op.f("ix_products_category_id"), "products", ["category_id"], unique=False)
    op.create_index(op.f("ix_products_name"), "products", ["name"], unique=False)
    op.create_table(
        "variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("colour", sa.String(length=64), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_id", "size", "colour", name="uq_variant"),
    )
    op.create_index(op.f("ix_variants_product_id"), "variants", ["product_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_variants_product_id"), table_name="variants")
    op.drop_table("variants")
    op.drop_index(op.f("ix_products_name"), table_name="products")
    op.drop_index(op.f("ix_products_category_id"), table_name="products")
    op.drop_table("products")
    op.drop_index(op.f("ix_task_status_changes_message_key"), table_name="task_status_changes")
    op.drop_table("task_status_changes")
    op.drop_table("suppressions")
    op.drop_index(op.f("ix_send_ledger_state"), table_name="send_ledger")
    op.drop_index(op.f("ix_send_ledger_recipient"), table_name="send_ledger")
    op.drop_index(op.f("ix_send_ledger_message_key"), table_name="send_ledger")
    op.drop_table("send_ledger")
    op.drop_index(op.f("ix_reprocess_requests_message_key"), table_name="reprocess_requests")
    op.drop_table("reprocess_requests")
    op.drop_table("processed_events")
    op.drop_table("ingest_checkpoints")
    op.drop_index("ix_email_tasks_status_created", table_name="email_tasks")
    op.drop_index(op.f("ix_email_tasks_status"), table_name="email_tasks")
    op.drop_index(op.f("ix_email_tasks_route"), table_name="email_tasks")
    op.drop_index(op.f("ix_email_tasks_message_key"), table_name="email_tasks")
    op.drop_index("ix_email_tasks_from_address", table_name="email_tasks")
    op.drop_table("email_tasks")
    op.drop_index(op.f("ix_dead_letters_message_key"), table_name="dead_letters")
    op.drop_index(op.f("ix_dead_letters_error_class"), table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_index("ix_turns_thread_created", table_name="conversation_turns")
    op.drop_index(op.f("ix_conversation_turns_customer_address"), table_name="conversation_turns")
    op.drop_table("conversation_turns")
    op.drop_table("categories")
    op.drop_index(op.f("ix_alerts_kind"), table_name="alerts")
    op.drop_table("alerts")
