from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from mailroom_common.catalogue_import import CatalogueError, read_catalogue

DEMO = Path(__file__).parents[4] / "deploy" / "local" / "demo" / "catalogue.csv"


def test_demo_catalogue_parses() -> None:
    rows = read_catalogue(DEMO)
    assert len({r.sku for r in rows}) >= 30
    jean = next(r for r in rows if r.sku == "JEA-MOM")
    assert jean.price == Decimal("39900.00")
    assert jean.colour == jean.colour.lower()


def test_json_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        '[{"sku": "A", "name": "Remera", "category": "Remeras", "size": "m", '
        '"colour": "Azul", "price": "10.5", "stock": 2}]',
        encoding="utf-8",
    )
    (row,) = read_catalogue(path)
    assert (row.size, row.colour, row.price, row.stock) == ("M", "azul", Decimal("10.5"), 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("sku,name,category,size,colour,price\nA,,Remeras,M,azul,1\n", "row 1: missing name"),
        ("sku,name,category,size,colour,price\nA,R,C,M,azul,abc\n", "not a number"),
        ("sku,name,category,size,colour,price,stock\nA,R,C,M,azul,1,x\n", "not an integer"),
        ("sku,name,category,size,colour,price,stock\nA,R,C,M,azul,1,-2\n", "negative"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CatalogueError, match=message):
        read_catalogue(path)


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"\.csv or \.json"):
        read_catalogue(path)
