"""Load a shop's catalogue from CSV or JSON into the catalogue tables.

One row per variant. Columns (CSV header or JSON object keys):
``sku, name, category, size, colour, price`` and optional ``currency, stock,
description, keywords``. Products are upserted by SKU and variants by
(product, size, colour), so re-importing a file updates prices and stock in place (and
makes active again what it lists). ``catalogue_sync`` compares a file with the database,
reports what changed and, with ``replace``, deactivates what the file no longer lists.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mailroom_common.db.models import Category, Product, Variant

__all__ = ["CatalogueError", "CatalogueRow", "category_slug", "import_rows", "read_catalogue"]

REQUIRED = ("sku", "name", "category", "size", "colour", "price")
# What the catalogue tables hold (db/models.py): a longer value would fail the import.
MAX_LENGTH = {"sku": 64, "name": 255, "category": 64, "size": 16, "colour": 64, "currency": 3}
MAX_PRICE = Decimal("9999999999.99")  # NUMERIC(12, 2)
MAX_STOCK = 2**31 - 1


class CatalogueError(ValueError):
    """A catalogue file is malformed; the message names the row and the field."""


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    sku: str
    name: str
    category: str
    size: str
    colour: str
    price: Decimal
    currency: str = "ARS"
    stock: int = 0
    description: str = ""
    keywords: str = ""


def _row(raw: dict[str, Any], number: int) -> CatalogueRow:
    missing = [f for f in REQUIRED if not str(raw.get(f) or "").strip()]
    if missing:
        raise CatalogueError(f"row {number}: missing {', '.join(missing)}")
    try:
        price = Decimal(str(raw["price"]).strip())
    except InvalidOperation:
        raise CatalogueError(f"row {number}: price {raw['price']!r} is not a number") from None
    try:
        stock = int(str(raw.get("stock") or 0).strip())
    except ValueError:
        raise CatalogueError(
            f"row {number}: stock {raw.get('stock')!r} is not an integer"
        ) from None
    if not price.is_finite():
        raise CatalogueError(f"row {number}: price {raw['price']!r} is not a number")
    if price < 0 or stock < 0:
        raise CatalogueError(f"row {number}: price and stock must not be negative")
    if price > MAX_PRICE or stock > MAX_STOCK:
        raise CatalogueError(f"row {number}: price or stock too large")
    row = CatalogueRow(
        sku=str(raw["sku"]).strip(),
        name=str(raw["name"]).strip(),
        category=str(raw["category"]).strip(),
        size=str(raw["size"]).strip().upper(),
        colour=str(raw["colour"]).strip().lower(),
        price=price,
        currency=str(raw.get("currency") or "ARS").strip().upper(),
        stock=stock,
        description=str(raw.get("description") or "").strip(),
        keywords=str(raw.get("keywords") or "").strip(),
    )
    for field, limit in MAX_LENGTH.items():
        if len(getattr(row, field)) > limit:
            raise CatalogueError(f"row {number}: {field} is longer than {limit} characters")
    return row


def read_catalogue(path: Path) -> list[CatalogueRow]:
    """Parse a ``.csv`` or ``.json`` catalogue file."""
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
                raise CatalogueError("a JSON catalogue is a list of variant objects")
            raws: Sequence[dict[str, Any]] = data
        elif path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as fh:
                raws = list(csv.DictReader(fh))
        else:
            raise CatalogueError(f"{path.name}: use a .csv or .json file")
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{path.name}: not valid JSON ({exc})") from None
    except UnicodeDecodeError:
        raise CatalogueError(f"{path.name}: not UTF-8 text") from None
    return [_row(raw, i) for i, raw in enumerate(raws, start=1)]


def category_slug(name: str) -> str:
    """The key categories are upserted by: lower case, single dashes between words."""
    return "-".join(name.lower().split())


async def import_rows(conn: AsyncConnection, rows: Iterable[CatalogueRow]) -> int:
    """Upsert ``rows`` on ``conn`` (the caller owns the transaction); return the count.

    Every product and variant written is active, so a listed row that an earlier
    replacing import deactivated is offered again.
    """
    count = 0
    for row in rows:
        cat = insert(Category).values(slug=category_slug(row.category), name=row.category)
        cat_upsert = cat.on_conflict_do_update(
            index_elements=["slug"], set_={"name": cat.excluded.name}
        ).returning(Category.__table__.c.id)  # type: ignore[attr-defined]
        category_id = (await conn.execute(cat_upsert)).scalar_one()
        prod = insert(Product).values(
            sku=row.sku,
            name=row.name,
            category_id=category_id,
            description=row.description,
            keywords=row.keywords,
            active=True,
        )
        prod_upsert = prod.on_conflict_do_update(
            index_elements=["sku"],
            set_={
                "name": prod.excluded.name,
                "category_id": prod.excluded.category_id,
                "description": prod.excluded.description,
                "keywords": prod.excluded.keywords,
                "active": True,
            },
        ).returning(Product.__table__.c.id)  # type: ignore[attr-defined]
        product_id = (await conn.execute(prod_upsert)).scalar_one()
        var = insert(Variant).values(
            product_id=product_id,
            size=row.size,
            colour=row.colour,
            price=row.price,
            currency=row.currency,
            stock=row.stock,
            active=True,
        )
        var = var.on_conflict_do_update(
            constraint="uq_variant",
            set_={
                "price": var.excluded.price,
                "currency": var.excluded.currency,
                "stock": var.excluded.stock,
                "active": True,
            },
        )
        await conn.execute(var)
        count += 1
    return count
