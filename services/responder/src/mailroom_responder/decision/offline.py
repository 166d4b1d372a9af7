"""The router run offline on one mail given as JSON, exactly as the responder runs it.

Used by ``python -m mailroom_responder.explain`` and ``bench/route_eval.py``. The body is
split into new text, quote and signature by ``mailroom_common.quotes`` (what ingest
does before it publishes), then decided by ``routing.decide``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mailroom_common.catalogue_import import CatalogueRow
from mailroom_common.events import Route
from mailroom_common.quotes import customer_parts
from mailroom_responder.decision.answers import catalogue_answer
from mailroom_responder.decision.catalogue import Catalogue, ProductInfo, VariantInfo
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.decision.routing import Decision, decide
from mailroom_responder.decision.text import strip_invisible

__all__ = ["Shop", "catalogue_from_rows", "explain_line"]

EXCERPT_MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Shop:
    faq: FaqBook
    catalogue: Catalogue
    name: str = ""
    address: str = ""
    handoff_ack: bool = True


def catalogue_from_rows(rows: Iterable[CatalogueRow]) -> Catalogue:
    """The in-memory catalogue from an import file's rows (one row per variant)."""
    variants: dict[str, list[VariantInfo]] = defaultdict(list)
    first: dict[str, CatalogueRow] = {}
    for row in rows:
        first.setdefault(row.sku, row)
        variants[row.sku].append(
            VariantInfo(row.size, row.colour, row.price, row.currency, row.stock)
        )
    return Catalogue(
        tuple(
            ProductInfo.build(
                sku=sku,
                name=row.name,
                category=row.category,
                keywords=row.keywords,
                description=row.description,
                variants=tuple(variants[sku]),
            )
            for sku, row in first.items()
        )
    )


def _fill(text: str, shop: Shop) -> str:
    return text.replace("{shop_name}", shop.name).replace("{shop_address}", shop.address)


def reply_without_llm(decision: Decision, shop: Shop) -> str | None:
    """What the shop would send with no LLM call: the FAQ answer, the catalogue answer
    from templates, or the hand-off note."""
    language = "en" if decision.language == "en" else "es"
    if decision.route is Route.FAQ and decision.faq is not None:
        read = decision.document.raw if decision.document is not None else ""
        return _fill(shop.faq.answer(decision.faq, read, language).text, shop)
    if decision.route is Route.HANDOFF and shop.handoff_ack:
        return _fill(shop.faq.template("handoff_ack", language), shop)
    answer = catalogue_answer(decision, shop.catalogue, shop.faq, language)
    return _fill(answer.text, shop) if answer is not None else None


def explain_line(obj: Any, shop: Shop) -> dict[str, Any]:
    """One input object → one output object (``{"id", "error"}`` for bad input)."""
    if not isinstance(obj, dict):
        return {"id": None, "error": "each line must be a JSON object"}
    mail_id = obj.get("id")
    body = obj.get("body")
    subject = obj.get("subject", "")
    if mail_id is None:
        return {"id": None, "error": "missing 'id'"}
    if not isinstance(body, str):
        return {"id": mail_id, "error": "'body' must be a string"}
    if not isinstance(subject, str):
        return {"id": mail_id, "error": "'subject' must be a string"}
    text = strip_invisible(customer_parts(body).text)
    decision = decide(strip_invisible(subject), text, shop.faq, shop.catalogue)
    reply = reply_without_llm(decision, shop)
    llm_needed = decision.route in (Route.CATALOGUE, Route.LLM) and reply is None
    excerpt = (
        shop.catalogue.excerpt_for(decision.document, decision.found, EXCERPT_MAX_CHARS)
        if llm_needed and decision.document is not None
        else None
    )
    return {
        "id": mail_id,
        "route": decision.route.value,
        "intent": decision.intent,
        "reason": decision.reason,
        "confidence": round(decision.confidence, 3),
        "language": "en" if decision.language == "en" else "es",
        "product_skus": list(decision.product_skus),
        "excerpt": excerpt,
        "reply": reply,
        "llm_needed": llm_needed,
        "evidence": list(decision.evidence),
    }
