"""Where an answerable email goes: handoff, FAQ, catalogue (LLM + excerpt) or LLM. Pure.

Order matters: a person first (handoff rules), then product questions (a price or stock
answer must come from the live catalogue), then the FAQ, then the LLM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailroom_common.events import Route
from mailroom_responder.decision.catalogue import Catalogue, parse_query
from mailroom_responder.decision.faq import FaqBook, FaqEntry
from mailroom_responder.decision.text import fold, tokens

__all__ = ["Decision", "decide", "handoff_reason"]

# (reason, pattern on folded text). Word boundaries keep "sueldo" from matching "sue".
_HANDOFF_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern))
    for reason, pattern in (
        (
            "human_requested",
            r"\b(hablar con (una |un )?(persona|humano|agente|operador|asesor|vendedor)"
            r"|persona real|atencion humana|un humano|human being|real person|a human"
            r"|(speak|talk) (to|with) (someone|somebody|a person|an agent|a representative)"
            r"|customer service agent|representative)\b",
        ),
        (
            "angry",
            r"\b(estafa|estafadores|verguenza|indignad[oa]|furios[oa]|harto|harta|pesimo"
            r"|inaceptable|una burla|scam|scammers|furious|outraged|unacceptable|ridiculous"
            r"|disgusted|worst service|angry)\b",
        ),
        (
            "refund_dispute",
            r"\b(reembolso|reintegro|devuelvan (mi|el) dinero|devolucion del dinero"
            r"|refund|money back)\b",
        ),
        ("chargeback", r"\b(contracargo|desconocer el cargo|chargeback|dispute the charge)\b"),
        (
            "legal",
            r"\b(abogad[oa]|denuncia|demandar(los|las)?|demanda (judicial|legal)"
            r"|iniciar (una )?demanda|defensa del consumidor|accion legal|legal action"
            r"|lawyer|attorney|lawsuit|sue you|consumer protection)\b",
        ),
        (
            "damaged_goods",
            r"\b(roto|rota|rotos|rotas|danad[oa]s?|defectuos[oa]s?|fallad[oa]s?|llego mal"
            r"|damaged|broken|defective|torn|arrived faulty)\b",
        ),
        (
            "needs_order_or_account",
            r"(\b(mi|mis|nuestro) (pedido|pedidos|orden|compra|compras|cuenta|envio|paquete)\b"
            r"|\b(pedido|orden|order)\s*(n(ro|umero|o)?\.?\s*)?#?\s*\d{3,}"
            r"|#\s*\d{3,}|\bnumero de (pedido|orden|seguimiento)\b"
            r"|\b(my|our) (order|orders|account|purchase|package|parcel|delivery)\b"
            r"|\btracking (number|code)\b)",
        ),
    )
)
_PRICE_CUES = re.compile(
    r"\b(precio|precios|cuesta|cuestan|vale|valen|cuanto sale|cuanto salen|price|prices"
    r"|cost|costs|how much)\b"
)
_AVAILABILITY_CUES = re.compile(
    r"\b(tienen|tenes|tienes|hay|queda|quedan|stock|disponible|disponibles|do you have"
    r"|in stock|available|availability)\b"
)


@dataclass(frozen=True, slots=True)
class Decision:
    route: Route
    intent: str
    reason: str | None = None
    faq: FaqEntry | None = None


def handoff_reason(text: str) -> str | None:
    folded = fold(text)
    for reason, pattern in _HANDOFF_RULES:
        if pattern.search(folded):
            return reason
    # Shouting: most letters upper-case over a real sentence.
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        return "angry"
    if text.count("!") >= 4:
        return "angry"
    return None


def decide(text: str, faq: FaqBook, catalogue: Catalogue) -> Decision:
    """Route one email's text (subject + new text)."""
    reason = handoff_reason(text)
    if reason is not None:
        return Decision(Route.HANDOFF, "handoff", reason=reason)
    folded = " ".join(tokens(text))
    asks_price = bool(_PRICE_CUES.search(folded))
    asks_stock = bool(_AVAILABILITY_CUES.search(folded))
    names_product = bool(catalogue.rank(text, limit=1))
    asks_size = bool(parse_query(text).sizes)
    match = faq.match(text)
    if names_product and (asks_price or asks_stock or asks_size):
        intent = "price" if asks_price else "stock"
        return Decision(Route.CATALOGUE, intent)
    if match is not None:
        return Decision(Route.FAQ, match.entry.key, faq=match.entry)
    if names_product:
        return Decision(Route.CATALOGUE, "product")
    if asks_price or (asks_stock and asks_size):
        # A specific product we could not find: the LLM answers from an empty excerpt,
        # and the figure guard stops any invented number.
        return Decision(Route.CATALOGUE, "price" if asks_price else "stock")
    return Decision(Route.LLM, "general")
