"""What a routing decision is, and how the decision of each answering route is built
from what was found (the reason a person reads, the confidence, the evidence). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailroom_common.events import Route
from mailroom_responder.decision.catalogue import Found
from mailroom_responder.decision.document import Document
from mailroom_responder.decision.faq import FaqEntry
from mailroom_responder.decision.signals import ProductCues, Scored

__all__ = ["FAQ_MIN", "REASON_TEXT", "Decision", "catalogue_decision", "faq_decision"]

# A topic scoring less is only a weak hint, never an answer of its own.
FAQ_MIN = 0.75
REASON_TEXT = {
    "human_requested": "asks for a person",
    "legal": "legal threat",
    "chargeback": "chargeback threat",
    "refund_dispute": "refund claim",
    "damaged_goods": "damaged or defective item",
    "wrong_item": "wrong or missing item",
    "needs_order_or_account": "needs the customer's order or account",
    "angry": "angry customer",
    "sarcasm": "sarcastic complaint",
    "needs_person": "reads like a problem only a person can solve",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """Where one email goes, and why: what an operator sees on the task.

    ``reason`` is a sentence a person can read ("handoff: chargeback threat",
    "faq:returns: phrase 'cambio' + 'costo de envio'"), ``confidence`` is 0–1,
    ``evidence`` lists the matched rules and ``product_skus`` the matched products (best
    first).
    """

    route: Route
    intent: str
    reason: str = ""
    confidence: float = 1.0
    language: str = "es"
    product_skus: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    faq: FaqEntry | None = None
    # Catalogue route: what is asked of the products, firmly ("price", "stock", "detail",
    # "fit"), and an FAQ topic the mail asks as well ("¿…y cuánto tarda el envío?").
    asks: tuple[str, ...] = ()
    also_topic: str | None = None
    found: Found = field(default_factory=Found, compare=False, repr=False)
    document: Document | None = field(default=None, compare=False, repr=False)

    def record(self) -> dict[str, object]:
        """What the status event carries as ``decision`` (JSON-ready)."""
        return {
            "route": self.route.value,
            "intent": self.intent,
            "reason": self.reason,
            "confidence": round(self.confidence, 3),
            "language": self.language,
            "product_skus": list(self.product_skus),
            "evidence": list(self.evidence),
        }


def catalogue_decision(
    found: Found,
    *,
    strength: dict[str, float],
    firm: dict[str, float],
    product_cues: ProductCues,
    also: Scored | None,
    evidence: list[str],
    common: dict[str, object],
) -> Decision:
    if found.not_carried and not found.products and not found.categories:
        intent = "not_carried"
    elif strength.get("price", 0) >= 1.0:
        intent = "price"
    elif strength.get("stock", 0) >= 1.0 and not firm.get("detail"):
        intent = "stock"  # a weak word ("en color verde", "the one in the photo") asks no more
    else:
        intent = "product"
    if found.products:
        what = ", ".join(f"{m.product.sku} ('{m.via}')" for m in found.products[:3])
    elif found.categories:
        what = "category " + ", ".join(found.categories)
    elif found.not_carried:
        what = "a kind we do not sell: " + ", ".join(f"'{t}'" for t in found.not_carried)
    else:
        what = "no product"
    cue = next(
        (t for kind in ("price", "stock", "detail") for t, _w in product_cues.get(kind, ())), None
    )
    reason = f"catalogue:{intent}: {what}" + (f"; asks '{cue}'" if cue else "")
    if also is not None:
        reason += f"; also asks faq:{also.topic}"
    # A named product and an asked question is sure; a category or nothing asked less so.
    confidence = {(True, True): 0.9, (True, False): 0.75, (False, True): 0.75}.get(
        (bool(found.products), cue is not None), 0.6
    )
    return Decision(
        Route.CATALOGUE,
        intent,
        reason,
        confidence,
        evidence=tuple(evidence),
        asks=tuple(sorted(k for k, v in strength.items() if v >= 1.0)),
        # A weak hit ("¿hay talle L?" scores sizes) is part of the product question.
        also_topic=also.topic if also is not None and also.score >= 1.0 else None,
        **common,  # type: ignore[arg-type]
    )


def faq_decision(
    entry: FaqEntry,
    *,
    best: Scored,
    topics: list[Scored],
    asks_product: float,
    evidence: list[str],
    common: dict[str, object],
) -> Decision:
    second = topics[1] if len(topics) > 1 else None
    reason = f"faq:{entry.key}: " + " + ".join(f"'{h}'" for h in best.hits[:3])
    margin = best.score - (second.score if second else 0.0)
    if second is not None and second.score >= FAQ_MIN:
        reason += f" ({second.topic} is context)"
    confidence = 0.55 + min(0.25, 0.1 * best.score) + min(0.15, 0.1 * margin)
    if asks_product:
        confidence -= 0.1
    return Decision(
        Route.FAQ,
        entry.key,
        reason,
        round(min(confidence, 0.95), 3),
        faq=entry,
        evidence=tuple(evidence),
        **common,  # type: ignore[arg-type]
    )
