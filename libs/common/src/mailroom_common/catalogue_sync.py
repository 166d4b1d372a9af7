"""Bring the catalogue tables in line with a catalogue file, and say what that changed.

``sync_catalogue`` reads what the database holds, compares it with the file
(``compare_catalogue``, pure), upserts the file (``import_rows``) and, with
``replace=True``, deactivates every product and variant the file no longer lists — all on
the caller's connection, so in the caller's one transaction. Nothing is ever deleted:
tasks may refer to a product the shop stopped selling; listed again, it is active again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mailroom_common.catalogue_import import (
    CatalogueError,
    CatalogueRow,
    category_slug,
    import_rows,
)

__all__ = [
    "CatalogueState",
    "CatalogueSummary",
    "EmptyCatalogueError",
    "ProductState",
    "VariantKey",
    "VariantState",
    "compare_catalogue",
    "read_state",
    "refuse_empty",
    "sync_catalogue",
]

VariantKey = tuple[str, str, str]
"""(sku, size, colour): what identifies a variant in a file and in the database."""

_CENTS = Decimal("0.01")  # variants.price is NUMERIC(12, 2)
_LISTED_SKUS = 10  # deactivated SKUs named on the summary line; the rest are counted


class EmptyCatalogueError(CatalogueError):
    """A replacing import of a file without rows: it would deactivate the whole shop."""


@dataclass(frozen=True, slots=True)
class ProductState:
    name: str
    category: str
    description: str = ""
    keywords: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class VariantState:
    price: Decimal
    currency: str = "ARS"
    stock: int = 0
    active: bool = True


@dataclass(frozen=True, slots=True)
class CatalogueState:
    """Products by SKU and variants by (sku, size, colour), as stored or as a file wants."""

    products: Mapping[str, ProductState]
    variants: Mapping[VariantKey, VariantState]

    @classmethod
    def from_rows(cls, rows: Sequence[CatalogueRow]) -> CatalogueState:
        """What the tables hold after upserting ``rows`` in order: a later row wins."""
        category_names = {category_slug(r.category): r.category for r in rows}
        products: dict[str, ProductState] = {}
        variants: dict[VariantKey, VariantState] = {}
        for r in rows:
            products[r.sku] = ProductState(
                name=r.name,
                category=category_names[category_slug(r.category)],
                description=r.description,
                keywords=r.keywords,
            )
            variants[(r.sku, r.size, r.colour)] = VariantState(
                price=r.price.quantize(_CENTS, ROUND_HALF_UP), currency=r.currency, stock=r.stock
            )
        return cls(products, variants)


@dataclass(frozen=True, slots=True)
class CatalogueSummary:
    """What an import did, compared with what the database held before it.

    Each SKU of the file is in at most one of ``added`` (new), ``reactivated`` (inactive
    before) and ``changed`` (active before, and its name, category, description or
    keywords differed, or one of its variants was new, inactive before, or had another
    price, currency or stock). ``deactivated`` and ``variants_deactivated`` are what
    went inactive (only with ``replace``); a deactivated product's variants count there too.
    """

    rows: int
    replace: bool
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    reactivated: tuple[str, ...] = ()
    deactivated: tuple[str, ...] = ()
    variants_deactivated: tuple[VariantKey, ...] = ()
    products_active: int = 0

    def line(self, source: str) -> str:
        """One stable, human-readable line, e.g. for the operator command's output."""
        deactivated = f"{len(self.deactivated)} deactivated"
        if self.deactivated:
            named = ", ".join(self.deactivated[:_LISTED_SKUS])
            more = len(self.deactivated) - _LISTED_SKUS
            deactivated += f" ({named}{f', +{more} more' if more > 0 else ''})"
        variants = len(self.variants_deactivated)
        return (
            f"catalogue {source}: {len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.reactivated)} reactivated, {deactivated}, "
            f"{variants} variant{'' if variants == 1 else 's'} deactivated, "
            f"{self.products_active} products active"
        )


def compare_catalogue(
    current: CatalogueState, rows: Sequence[CatalogueRow], *, replace: bool
) -> CatalogueSummary:
    """What importing ``rows`` over ``current`` changes (``replace``: and deactivates)."""
    if replace:
        refuse_empty(rows)
    wanted = CatalogueState.from_rows(rows)
    # A stored variant equal to the wanted one is also active: the wanted one always is.
    touched_skus = {key[0] for key, v in wanted.variants.items() if current.variants.get(key) != v}
    added, changed, reactivated = [], [], []
    for sku, want_product in wanted.products.items():
        had = current.products.get(sku)
        if had is None:
            added.append(sku)
        elif not had.active:
            reactivated.append(sku)
        elif sku in touched_skus or had != want_product:
            changed.append(sku)
    deactivated: list[str] = []
    variants_deactivated: list[VariantKey] = []
    if replace:
        deactivated = [
            sku for sku, p in current.products.items() if p.active and sku not in wanted.products
        ]
        variants_deactivated = [
            key for key, v in current.variants.items() if v.active and key not in wanted.variants
        ]
        active = len(wanted.products)
    else:
        active = len(
            {sku for sku, p in current.products.items() if p.active} | set(wanted.products)
        )
    return CatalogueSummary(
        rows=len(rows),
        replace=replace,
        added=tuple(added),
        changed=tuple(changed),
        reactivated=tuple(reactivated),
        deactivated=tuple(sorted(deactivated)),
        variants_deactivated=tuple(sorted(variants_deactivated)),
        products_active=active,
    )


def refuse_empty(rows: Sequence[CatalogueRow]) -> None:
    """A replacing import needs rows: an empty file would deactivate the whole shop."""
    if not rows:
        raise EmptyCatalogueError(
            "the file has no rows: a replacing import would deactivate every product; "
            "nothing was changed"
        )


async def read_state(conn: AsyncConnection) -> tuple[CatalogueState, dict[VariantKey, int]]:
    """The stored catalogue, and each variant's id."""
    products = {
        r.sku: ProductState(r.name, r.category, r.description, r.keywords, r.active)
        for r in await conn.execute(
            text(
                "SELECT p.sku, p.name, coalesce(c.name, '') AS category, p.description,"
                " p.keywords, p.active FROM products p"
                " LEFT JOIN categories c ON c.id = p.category_id"
            )
        )
    }
    variants: dict[VariantKey, VariantState] = {}
    ids: dict[VariantKey, int] = {}
    for r in await conn.execute(
        text(
            "SELECT v.id, p.sku, v.size, v.colour, v.price, v.currency, v.stock, v.active"
            " FROM variants v JOIN products p ON p.id = v.product_id"
        )
    ):
        key = (r.sku, r.size, r.colour)
        variants[key] = VariantState(r.price, r.currency, r.stock, r.active)
        ids[key] = r.id
    return CatalogueState(products, variants), ids


async def sync_catalogue(
    conn: AsyncConnection, rows: Sequence[CatalogueRow], *, replace: bool = False
) -> CatalogueSummary:
    """Import ``rows`` on ``conn`` (the caller owns the transaction) and report the change.

    Without ``replace`` products and variants are only inserted or updated; with it,
    those the file does not list are deactivated as well. A replacing import of no rows
    raises ``EmptyCatalogueError`` before anything is written.
    """
    if replace:
        refuse_empty(rows)
    # Imports run one at a time, so the comparison holds until the commit; readers (the
    # responder's catalogue loads) are not blocked.
    await conn.execute(text("LOCK TABLE products, variants IN SHARE ROW EXCLUSIVE MODE"))
    current, variant_ids = await read_state(conn)
    summary = compare_catalogue(current, rows, replace=replace)
    await import_rows(conn, rows)
    if summary.deactivated:
        await conn.execute(
            text("UPDATE products SET active = false WHERE sku = ANY(:skus)"),
            {"skus": list(summary.deactivated)},
        )
    if summary.variants_deactivated:
        await conn.execute(
            text("UPDATE variants SET active = false WHERE id = ANY(:ids)"),
            {"ids": [variant_ids[key] for key in summary.variants_deactivated]},
        )
    return summary
