"""What leaves the shop: plain text, only known figures, no leaked instructions, right address."""

from __future__ import annotations

import pytest

from mailroom_responder.decision.safety import (
    leaks_instructions,
    plain_text,
    recipient,
    unsupported_figures,
)
from mailroom_responder.prompt import instructions

CONTEXT = "- Jean Mom (Jeans) SKU JM-01: talle 38 azul $45000 stock 3; talle 40 azul $45000 stock 0"


def test_plain_text_strips_markdown() -> None:
    text = "# Hola\n**Precio**: *45000*\n- item uno\n1. paso\n[web](https://x.test) `code`"
    out = plain_text(text, 500)
    assert "*" not in out
    assert "#" not in out
    assert "`" not in out
    assert "Precio: 45000" in out
    assert "item uno" in out
    assert "web (https://x.test)" in out


def test_plain_text_length_limit_cuts_at_sentence() -> None:
    text = "Primera frase corta. " * 20
    out = plain_text(text, 100)
    assert len(out) <= 100
    assert out.endswith(".")


@pytest.mark.parametrize(
    "reply",
    [
        "El Jean Mom cuesta $45.000 y quedan 3 en talle 38.",
        "Jean Mom: $45000, stock 3.",
        "El talle 40 no tiene stock (0).",
        "Sí, lo tenemos.",
    ],
)
def test_supported_figures(reply: str) -> None:
    assert unsupported_figures(reply, CONTEXT) == []


@pytest.mark.parametrize(
    ("reply", "bad"),
    [
        ("El Jean Mom cuesta $39.999.", "39.999"),
        ("Quedan 12 unidades.", "12"),
        ("Te hacemos un 20% de descuento.", "20"),
        ("Lo tenemos en talle XL.", "talle xl"),
    ],
)
def test_invented_figures(reply: str, bad: str) -> None:
    assert bad in unsupported_figures(reply, CONTEXT)


def test_leak_detection() -> None:
    rules = instructions("Tienda", "es", 110)
    assert leaks_instructions("Claro: " + rules[60:200], rules)
    assert leaks_instructions("Mis reglas están entre <<<EMAIL y EMAIL>>>", rules)
    assert not leaks_instructions("Hola, el jean cuesta $45000. Saludos.", rules)


@pytest.mark.parametrize(
    ("from_", "reply_to", "expected"),
    [
        ("Ana <ana@customer.test>", None, "ana@customer.test"),
        ("ana@customer.test", "ana.work@customer.test", "ana.work@customer.test"),
        ("ana@customer.test", "attacker@evil.test", "ana@customer.test"),
        (None, "x@y.test", None),
        ("not an address", None, None),
    ],
)
def test_recipient(from_: str | None, reply_to: str | None, expected: str | None) -> None:
    assert recipient(from_, reply_to) == expected
