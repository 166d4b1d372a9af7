from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mailroom_common.catalogue_import import import_rows, read_catalogue

pytestmark = pytest.mark.integration
DEMO = Path(__file__).parents[4] / "deploy" / "local" / "demo" / "catalogue.csv"


async def test_import_is_an_idempotent_upsert(db_engine: AsyncEngine) -> None:
    # Rolled back at the end so other tests see an empty catalogue.
    async with db_engine.connect() as conn:
        trans = await conn.begin()
        try:
            await _check_upsert(conn)
        finally:
            await trans.rollback()


async def _check_upsert(conn: AsyncConnection) -> None:
    rows = read_catalogue(DEMO)
    assert await import_rows(conn, rows) == len(rows)
    # Re-import with a new price and stock for one variant: updated in place.
    changed = [
        dataclasses.replace(r, price=Decimal("1.00"), stock=99)
        if (r.sku, r.size, r.colour) == ("JEA-MOM", "38", "azul")
        else r
        for r in rows
    ]
    assert await import_rows(conn, changed) == len(rows)
    count = (await conn.execute(text("SELECT count(*) FROM variants"))).scalar_one()
    products = (await conn.execute(text("SELECT count(*) FROM products"))).scalar_one()
    price, stock = (
        await conn.execute(
            text(
                "SELECT v.price, v.stock FROM variants v JOIN products p ON p.id = v.product_id"
                " WHERE p.sku = 'JEA-MOM' AND v.size = '38' AND v.colour = 'azul'"
            )
        )
    ).one()
    assert count == len(rows)
    assert products == len({r.sku for r in rows})
    assert (price, stock) == (Decimal("1.00"), 99)
