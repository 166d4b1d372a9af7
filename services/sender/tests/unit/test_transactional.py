from __future__ import annotations

from typing import Any

import pytest

from mailroom_sender.transactional import TemplateRenderer, TransactionalError


def order(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_number": "A-1001",
        "customer_name": "Ana <script>alert(1)</script>",
        "items": [
            {"name": "Remera lisa", "quantity": 2, "unit_price": "1500.00", "variant": "M / negro"},
            {"name": "Gorra", "quantity": 1, "unit_price": "999.99"},
        ],
        "currency": "ARS",
        "shipping_cost": "500.00",
        "total": "4499.99",
        "shipping_address": "Av. Siempre Viva 742",
        "order_url": "https://tienda.example/pedidos/A-1001",
    }
    data.update(overrides)
    return data


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer()


def test_spanish_order_confirmation_renders_html_and_text(renderer: TemplateRenderer) -> None:
    out = renderer.render("order_confirmation", "es", order(), shop_name="Tienda & Co")
    assert out.subject == "Confirmación de tu pedido A-1001 – Tienda & Co"
    assert "2 × Remera lisa (M / negro): ARS 3,000.00" in out.text
    assert "Total: ARS 4,499.99" in out.text
    # The text part is not HTML, so it is not escaped.
    assert "Ana <script>alert(1)</script>" in out.text
    # HTML is autoescaped: a customer's name cannot inject markup.
    assert "<script>" not in out.html
    assert "Ana &lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    assert "Tienda &amp; Co" in out.html
    assert 'href="https://tienda.example/pedidos/A-1001"' in out.html
    assert '<html lang="es">' in out.html


def test_english_order_confirmation(renderer: TemplateRenderer) -> None:
    data = order(shipping_address=None, order_url=None)
    out = renderer.render("order_confirmation", "en", data, shop_name="Shop")
    assert out.subject == "Your order A-1001 is confirmed – Shop"
    assert "Thank you for your purchase" in out.text
    assert "ship it to" not in out.text
    assert "Track" not in out.html
    assert '<html lang="en">' in out.html


@pytest.mark.parametrize(
    ("template", "locale", "data", "reason"),
    [
        ("order_confirmation", "es", order(total="1.00"), "does not match"),
        ("order_confirmation", "es", order(items=[]), "items"),
        ("order_confirmation", "es", {"order_number": "x"}, "customer_name"),
        ("order_confirmation", "es", order(extra_field=1), "extra_field"),
        ("order_confirmation", "es", order(order_url="javascript:alert(1)"), "order_url"),
        ("order_confirmation", "fr", order(), "no locale 'fr'"),
        ("password_reset", "es", order(), "unknown template 'password_reset'"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(
    renderer: TemplateRenderer, template: str, locale: str, data: dict[str, Any], reason: str
) -> None:
    with pytest.raises(TransactionalError, match=reason):
        renderer.render(template, locale, data, shop_name="Shop")
