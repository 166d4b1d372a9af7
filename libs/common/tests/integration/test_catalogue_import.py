from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from mailroom_common.catalogue_import import CatalogueRow, import_rows, read_catalogue
from mailroom_common.catalogue_sync import CatalogueSummary, EmptyCatalogueError, sync_catalogue
from mailroom_common.db.migrate import upgrade

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


# ---------------------------------------------------------------------------- --replace

HEADER = "sku,name,category,size,colour,price,stock\n"
FILE_A = (
    "P1,Remera,Remeras,S,azul,100,1\n"
    "P1,Remera,Remeras,M,azul,100,2\n"
    "P2,Jean,Jeans,38,azul,200,3\n"
    "P3,Buzo,Buzos,L,gris,300,4\n"
)
# P1 loses size S, P2 costs more, P3 is gone, P4 is new.
FILE_B = (
    "P1,Remera,Remeras,M,azul,100,2\n"
    "P2,Jean,Jeans,38,azul,250,3\n"
    "P4,Campera,Camperas,M,negro,400,5\n"
)


def _rows(tmp_path: Path, name: str, body: str) -> list[CatalogueRow]:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return read_catalogue(path)


async def _state(conn: AsyncConnection) -> tuple[dict[str, bool], dict[str, tuple[bool, Decimal]]]:
    products = {
        r.sku: r.active for r in await conn.execute(text("SELECT sku, active FROM products"))
    }
    variants = {
        f"{r.sku}/{r.size}": (r.active, r.price)
        for r in await conn.execute(
            text(
                "SELECT p.sku, v.size, v.active, v.price FROM variants v"
                " JOIN products p ON p.id = v.product_id"
            )
        )
    }
    return products, variants


async def test_replace_makes_the_catalogue_equal_to_the_file(
    db_engine: AsyncEngine, tmp_path: Path
) -> None:
    a, b = _rows(tmp_path, "a.csv", FILE_A), _rows(tmp_path, "b.csv", FILE_B)
    async with db_engine.connect() as conn:
        trans = await conn.begin()
        try:
            first = await sync_catalogue(conn, a)
            assert (first.added, first.changed, first.products_active) == (
                ("P1", "P2", "P3"),
                (),
                3,
            )

            summary = await sync_catalogue(conn, b, replace=True)
            assert summary == CatalogueSummary(
                rows=3,
                replace=True,
                added=("P4",),
                changed=("P2",),
                deactivated=("P3",),
                variants_deactivated=(("P1", "S", "azul"), ("P3", "L", "gris")),
                products_active=3,
            )
            products, variants = await _state(conn)
            assert products == {"P1": True, "P2": True, "P3": False, "P4": True}
            assert variants == {
                "P1/S": (False, Decimal("100.00")),
                "P1/M": (True, Decimal("100.00")),
                "P2/38": (True, Decimal("250.00")),
                "P3/L": (False, Decimal("300.00")),
                "P4/M": (True, Decimal("400.00")),
            }

            # Listed again: active again (P1 by its variant S, P2 by its price).
            again = await sync_catalogue(conn, a, replace=True)
            assert (again.reactivated, again.changed, again.deactivated) == (
                ("P3",),
                ("P1", "P2"),
                ("P4",),
            )
            products, variants = await _state(conn)
            assert products == {"P1": True, "P2": True, "P3": True, "P4": False}
            assert [k for k, (active, _) in variants.items() if not active] == ["P4/M"]

            # An import without --replace deactivates nothing, and says so.
            upsert = await sync_catalogue(conn, b)
            assert (upsert.added, upsert.reactivated, upsert.deactivated) == ((), ("P4",), ())
            assert upsert.products_active == 4

            # No rows: refused, nothing written.
            before = await _state(conn)
            with pytest.raises(EmptyCatalogueError):
                await sync_catalogue(conn, [], replace=True)
            assert await _state(conn) == before
        finally:
            await trans.rollback()


@pytest.fixture
def own_database_url(pg_admin_dsn: str) -> Iterator[str]:
    """A migrated database for one test: the command commits, the run's database stays clean."""
    name = f"mailroom_catimport_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = f"{pg_admin_dsn.rpartition('/')[0]}/{name}".replace(
        "postgresql://", "postgresql+asyncpg://", 1
    )
    try:
        upgrade("head", url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_the_command_prints_what_it_did(own_database_url: str, tmp_path: Path) -> None:
    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mailroom_common", "import-catalogue", *map(str, args)],
            env={**os.environ, "DATABASE_URL": own_database_url},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    files = {}
    for name, body in {"a.csv": FILE_A, "b.csv": FILE_B, "empty.csv": ""}.items():
        files[name] = tmp_path / name
        files[name].write_text(HEADER + body, encoding="utf-8")

    done = await asyncio.to_thread(run, files["a.csv"])
    assert (done.returncode, done.stdout) == (
        0,
        f"catalogue {files['a.csv']}: 3 added, 0 changed, 0 reactivated, 0 deactivated,"
        " 0 variants deactivated, 3 products active\n",
    )
    done = await asyncio.to_thread(run, "--replace", files["b.csv"])
    assert (done.returncode, done.stdout) == (
        0,
        f"catalogue {files['b.csv']}: 1 added, 1 changed, 0 reactivated, 1 deactivated (P3),"
        " 2 variants deactivated, 3 products active\n",
    )
    refused = await asyncio.to_thread(run, "--replace", files["empty.csv"])
    assert refused.returncode == 2
    assert "no rows" in refused.stderr
    assert refused.stdout == ""

    engine = create_async_engine(own_database_url)
    try:
        async with engine.connect() as conn:
            products, _ = await _state(conn)
    finally:
        await engine.dispose()
    assert products == {"P1": True, "P2": True, "P3": False, "P4": True}
