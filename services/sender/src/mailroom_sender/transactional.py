"""Transactional mail: a template name plus data becomes subject, text and HTML.

Each template declares a pydantic model for its data, so a caller's mistake (a missing
field, a negative quantity, totals that do not add up) is rejected with a reason the
caller can read in the dead letter, instead of a half-rendered email reaching a customer.
Templates ship inside the package: ``templates/<name>/<locale>/{subject.txt,body.txt,body.html}``.
HTML is autoescaped; the text parts are not (they are not HTML).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "TEMPLATES",
    "OrderConfirmationData",
    "OrderItem",
    "RenderedMail",
    "TemplateRenderer",
    "TransactionalError",
]


class TransactionalError(ValueError):
    """The request cannot be rendered; the message says why (it goes into the dead letter)."""


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(ge=1, le=10_000)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    variant: str | None = Field(default=None, max_length=120)

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderConfirmationData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    order_number: str = Field(min_length=1, max_length=64)
    customer_name: str = Field(min_length=1, max_length=200)
    items: list[OrderItem] = Field(min_length=1, max_length=200)
    currency: str = Field(default="ARS", pattern=r"^[A-Z]{3}$")
    shipping_cost: Decimal = Field(default=Decimal(0), ge=0, decimal_places=2)
    total: Decimal = Field(ge=0, decimal_places=2)
    shipping_address: str | None = Field(default=None, max_length=500)
    order_url: str | None = Field(default=None, pattern=r"^https://\S+$")

    @model_validator(mode="after")
    def _total_adds_up(self) -> OrderConfirmationData:
        expected = sum((i.line_total for i in self.items), Decimal(0)) + self.shipping_cost
        if abs(expected - self.total) > Decimal("0.01"):
            raise ValueError(f"total {self.total} does not match items + shipping = {expected}")
        return self


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    model: type[BaseModel]
    locales: tuple[str, ...]


TEMPLATES: dict[str, TemplateSpec] = {
    "order_confirmation": TemplateSpec(OrderConfirmationData, ("es", "en")),
}


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _money(value: Decimal | int | float, currency: str = "") -> str:
    amount = f"{Decimal(value):,.2f}"
    return f"{currency} {amount}".strip()


class TemplateRenderer:
    """Validates request data and renders the packaged templates."""

    def __init__(self) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("mailroom_sender", "templates"),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["money"] = _money

    def render(
        self, template: str, locale: str, data: dict[str, Any], *, shop_name: str
    ) -> RenderedMail:
        spec = TEMPLATES.get(template)
        if spec is None:
            raise TransactionalError(
                f"unknown template {template!r}; known: {', '.join(sorted(TEMPLATES))}"
            )
        if locale not in spec.locales:
            raise TransactionalError(f"template {template!r} has no locale {locale!r}")
        try:
            model = spec.model.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in exc.errors()
            )
            raise TransactionalError(f"invalid data for {template}: {problems}") from None
        ctx = {"d": model, "shop_name": shop_name}
        base = f"{template}/{locale}"
        try:
            subject = self._env.get_template(f"{base}/subject.txt").render(ctx)
            text = self._env.get_template(f"{base}/body.txt").render(ctx)
            html = self._env.get_template(f"{base}/body.html").render(ctx)
        except jinja2.TemplateError as exc:
            raise TransactionalError(f"template {template} failed: {exc}") from None
        return RenderedMail(subject=" ".join(subject.split()), text=text, html=html)
