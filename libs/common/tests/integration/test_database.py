"""Migrations and models against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.db.migrate import downgrade, upgrade
from mailroom_common.db.models import (
    Category,
    EmailTask,
    IngestCheckpoint,
    LedgerState,
    Product,
    SendLedger,
    Variant,
    metadata,
)

pytestmark = pytest.mark.integration


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_upgrade_and_downgrade_an_empty_database(pg_admin_dsn: str) -> None:
    name = f"mailroom_mig_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = pg_admin_dsn.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    try:
        await asyncio.to_thread(upgrade, "head", url)
        assert set(metadata.tables) <= await _tables(url)
        await asyncio.to_thread(downgrade, "base", url)
        assert await _tables(url) == {"alembic_version"}
        await asyncio.to_thread(upgrade, "head", url)
        assert set(metadata.tables) <= await _tables(url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_models_round_trip(db_session: AsyncSession) -> None:
    category = Category(slug=f"jeans-{uuid.uuid4().hex[:6]}", name="Jeans")
    db_session.add(category)
    await db_session.flush()
    assert category.id is not None
    product = Product(sku=f"JM-{uuid.uuid4().hex[:6]}", name="Jean mom", category_id=category.id)
    db_session.add(product)
    await db_session.flush()
    assert product.id is not None
    db_session.add(
        Variant(product_id=product.id, size="M", colour="azul", price=Decimal("45999.90"), stock=3)
    )
    task = EmailTask(message_key="<rt@x>", status="received", subject="Hola")
    db_session.add(task)
    db_session.add(IngestCheckpoint(mailbox="support", folder="INBOX", uidvalidity=9, last_uid=2))
    db_session.add(
        SendLedger(
            message_key="<rt@x>",
            kind="reply",
            smtp_message_id="<a.reply@shop>",
            recipient="ana@example.com",
            state=LedgerState.PENDING,
        )
    )
    await db_session.flush()
    db_session.expunge_all()
    variant = (await db_session.exec(select(Variant).where(Variant.size == "M"))).one()
    assert variant.price == Decimal("45999.90")
    loaded = (
        await db_session.exec(select(EmailTask).where(EmailTask.message_key == "<rt@x>"))
    ).one()
    assert loaded.subject == "Hola"
    assert loaded.created_at is not None


async def test_unique_message_key_rejects_a_duplicate(db_session: AsyncSession) -> None:
    db_session.add(EmailTask(message_key="<dup@x>", status="received"))
    await db_session.flush()
    db_session.add(EmailTask(message_key="<dup@x>", status="received"))
    with pytest.raises(IntegrityError, match="message_key"):
        await db_session.flush()


async def test_ledger_is_unique_per_task_and_kind(db_session: AsyncSession) -> None:
    def row(mid: str) -> SendLedger:
        return SendLedger(
            message_key="<l@x>",
            kind="reply",
            smtp_message_id=mid,
            recipient="a@b.c",
            state=LedgerState.PENDING,
        )

    db_session.add(row("<1@shop>"))
    await db_session.flush()
    db_session.add(row("<2@shop>"))
    with pytest.raises(IntegrityError, match="uq_send_ledger_task_kind"):
        await db_session.flush()


async def test_migrations_match_the_models(db_engine: AsyncEngine) -> None:
    """A model change without a migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def diff(sync_conn: Connection) -> list[object]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))

    async with db_engine.connect() as conn:
        assert await conn.run_sync(diff) == []
