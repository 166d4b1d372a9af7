"""The comparison behind ``import-catalogue``'s summary, without a database."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from mailroom_common.catalogue_import import CatalogueError, CatalogueRow, read_catalogue
from mailroom_common.catalogue_sync import (
    CatalogueState,
    CatalogueSummary,
    EmptyCatalogueError,
    ProductState,
    VariantState,
    compare_catalogue,
)


def row(
    sku: str,
    size: str = "M",
    *,
    name: str = "",
    price: Decimal = Decimal("100"),
    keywords: str = "",
) -> CatalogueRow:
    return CatalogueRow(
        sku=sku,
        name=name or f"Producto {sku}",
        category="Remeras",
        size=size,
        colour="azul",
        price=price,
        stock=1,
        keywords=keywords,
    )


FILE = [row("A", "S"), row("A", "M"), row("B")]
STORED = CatalogueState.from_rows(FILE)


def test_the_same_file_again_changes_nothing() -> None:
    summary = compare_catalogue(STORED, FILE, replace=True)
    assert summary == CatalogueSummary(rows=3, replace=True, products_active=2)


def test_a_price_stored_with_cents_equals_the_file_price_without() -> None:
    stored = CatalogueState(
        STORED.products,
        {k: dataclasses.replace(v, price=Decimal("100.00")) for k, v in STORED.variants.items()},
    )
    assert compare_catalogue(stored, FILE, replace=False).changed == ()


def test_new_products_and_real_differences_are_told_apart() -> None:
    file = [
        row("A", "S", price=Decimal("90")),  # a variant's price
        row("A", "M"),
        row("B", keywords="algodón"),  # a product field
        row("C"),  # new
    ]
    summary = compare_catalogue(STORED, file, replace=False)
    assert (summary.added, summary.changed, summary.reactivated) == (("C",), ("A", "B"), ())
    assert summary.products_active == 3


def test_a_new_variant_changes_its_product() -> None:
    summary = compare_catalogue(STORED, [*FILE, row("B", "L")], replace=False)
    assert summary.changed == ("B",)


def test_replace_deactivates_what_the_file_no_longer_lists() -> None:
    summary = compare_catalogue(STORED, [row("A", "M")], replace=True)
    assert summary.deactivated == ("B",)
    # A's small size and B's only variant: a deactivated product's variants go with it.
    assert summary.variants_deactivated == (("A", "S", "azul"), ("B", "M", "azul"))
    assert summary.changed == ()
    assert summary.products_active == 1


def test_without_replace_nothing_is_deactivated() -> None:
    summary = compare_catalogue(STORED, [row("C")], replace=False)
    assert (summary.deactivated, summary.variants_deactivated) == ((), ())
    assert summary.products_active == 3


def test_listed_again_is_active_again() -> None:
    stored = CatalogueState(
        {**STORED.products, "B": dataclasses.replace(STORED.products["B"], active=False)},
        {
            **STORED.variants,
            ("A", "S", "azul"): dataclasses.replace(
                STORED.variants[("A", "S", "azul")], active=False
            ),
        },
    )
    summary = compare_catalogue(stored, FILE, replace=True)
    assert (summary.reactivated, summary.changed) == (("B",), ("A",))
    assert summary.products_active == 2


def test_already_inactive_rows_are_not_deactivated_again() -> None:
    stored = CatalogueState(
        {"Z": ProductState("Viejo", "Remeras", active=False)},
        {("Z", "M", "azul"): VariantState(Decimal("1.00"), active=False)},
    )
    summary = compare_catalogue(stored, FILE, replace=True)
    assert (summary.deactivated, summary.variants_deactivated) == ((), ())


def test_the_last_row_of_a_sku_wins_as_in_the_upsert() -> None:
    state = CatalogueState.from_rows([row("A", name="Viejo"), row("A", "L", name="Nuevo")])
    assert state.products["A"].name == "Nuevo"


def test_a_replacing_import_of_no_rows_is_refused() -> None:
    with pytest.raises(EmptyCatalogueError, match="would deactivate every product"):
        compare_catalogue(STORED, [], replace=True)
    assert compare_catalogue(STORED, [], replace=False).products_active == 2


def test_summary_line() -> None:
    summary = CatalogueSummary(
        rows=9,
        replace=True,
        added=("N1", "N2", "N3"),
        changed=("C1",),
        deactivated=("SKU-A", "SKU-B"),
        variants_deactivated=(("X", "M", "azul"),),
        products_active=40,
    )
    assert summary.line("shop.csv") == (
        "catalogue shop.csv: 3 added, 1 changed, 0 reactivated, 2 deactivated (SKU-A, SKU-B),"
        " 1 variant deactivated, 40 products active"
    )
    many = dataclasses.replace(summary, deactivated=tuple(f"S{i:02}" for i in range(12)))
    assert "12 deactivated (S00, S01, S02, S03, S04, S05, S06, S07, S08, S09, +2 more)" in (
        many.line("f")
    )
    assert "0 variants deactivated" in CatalogueSummary(rows=0, replace=False).line("f")


HEAD = "sku,name,category,size,colour,price,currency\n"


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("c.json", "[{", "not valid JSON"),
        ("c.json", '["A"]', "list of variant objects"),
        ("c.csv", b"\xff\xfe\x00sku", "not UTF-8"),
        ("c.csv", f"{HEAD}A,R,C,M,azul,NaN\n", "not a number"),
        ("c.csv", f"{HEAD}A,R,C,M,azul,10000000000\n", "too large"),
        ("c.csv", f"{HEAD}A,R,C,M,azul,1,DOLAR\n", "currency is longer than 3"),
        ("c.csv", f"{HEAD}{'A' * 65},R,C,M,azul,1\n", "sku is longer than 64"),
    ],
)
def test_unreadable_files_are_catalogue_errors(
    tmp_path: Path, name: str, body: str | bytes, message: str
) -> None:
    path = tmp_path / name
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8")
    with pytest.raises(CatalogueError, match=message):
        read_catalogue(path)
