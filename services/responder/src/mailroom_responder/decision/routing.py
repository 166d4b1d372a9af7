"""Where an answerable email goes, and why: handoff, FAQ, catalogue or LLM. Pure.

The order of reading, for one email's subject and new text (quotes and signatures are
split off before this):

1. **Products first.** The catalogue finds the products, categories and unsold kinds the
   mail names; their words are masked, so "Buzo Envío Gratis" or "talle único" never
   count as a shipping or size question.
2. **A person** when a hand-off rule matches a sentence (order or account needed, wrong
   or damaged item, refund claim, chargeback, legal threat, anger or sarcasm, a person
   asked for), unless the sentence is about the customer's own situation, a style ("el
   jean roto de la foto"), a condition ("si llega fallado…") or a refund *policy*.
3. **The catalogue** when a product, category or unsold kind is named *and* something
   about it is asked (price, stock, size or colour, material, fit…) that is not a policy
   phrase ("¿cuánto sale el envío?" asks shipping).
4. **The FAQ** when a topic is asked; with two topics, the one the question is about
   (the one named first in it: "¿el cambio tiene costo de envío?" is returns).
5. **The LLM** for the rest (low confidence when nothing matched at all).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from mailroom_common.events import Route
from mailroom_responder.decision.catalogue import Catalogue, Found
from mailroom_responder.decision.cues import Cues, Hit, Scan
from mailroom_responder.decision.document import Document, read_document
from mailroom_responder.decision.faq import FaqBook, FaqEntry
from mailroom_responder.decision.text import detect_language

__all__ = ["REASON_TEXT", "Decision", "decide", "decide_document"]

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
    "shouting": "shouting complaint",
}
# Which hand-off reason is reported when several match.
_PRIORITY = (
    "legal",
    "chargeback",
    "refund_dispute",
    "damaged_goods",
    "wrong_item",
    "needs_order_or_account",
    "human_requested",
    "angry",
    "sarcasm",
    "shouting",
)
_SHIELDED = frozenset({"legal", "angry", "damaged_goods", "wrong_item", "refund_dispute"})
_FAQ_MIN = 0.75
_PRESENT = frozenset("esta estan viene vienen tiene tienen is are it's comes come".split())
_CONDITION_RE = re.compile(
    r"(?<![a-z0-9ñ])(si|if|en caso de|in case|once|una vez que)(?![a-z0-9ñ])"
)
_ATTACH_CHARS = 24  # a price/stock phrase this close to a topic phrase belongs to it


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


@dataclass(slots=True)
class _Scored:
    topic: str
    score: float
    first: tuple[int, int]  # (sentence, char) of its first hit
    hits: list[str]
    asked: float = 0.0  # the part of the score from question sentences


def decide(subject: str, body: str, faq: FaqBook, catalogue: Catalogue) -> Decision:
    """Route one email (its subject and its new text)."""
    return decide_document(read_document(subject, body), faq, catalogue)


def decide_document(doc: Document, faq: FaqBook, catalogue: Catalogue) -> Decision:
    cues = faq.cues
    found = catalogue.find(doc)
    masked = doc.masked(found.mask())
    language = detect_language(doc.raw)
    evidence = [f"product:{m.product.sku} '{m.via}'" for m in found.products]
    evidence += [f"category:{c}" for c in found.categories]
    evidence += [f"not_carried:'{t}'" for t in found.not_carried]
    common = {
        "language": language,
        "product_skus": found.skus,
        "found": found,
        "document": doc,
    }

    handoffs = _handoff_hits(masked, cues)
    if handoffs:
        reason = min(handoffs, key=_PRIORITY.index)
        texts = handoffs[reason]
        evidence += [f"handoff:{r} '{t}'" for r, ts in handoffs.items() for t in ts]
        strong = len(texts) > 1 or len(handoffs) > 1 or reason in ("legal", "chargeback")
        return Decision(
            Route.HANDOFF,
            reason,
            f"handoff: {REASON_TEXT[reason]} ('{texts[0]}')",
            0.92 if strong else 0.8,
            evidence=tuple(evidence),
            **common,  # type: ignore[arg-type]
        )

    topics, product_cues = _topic_and_product_hits(masked, cues, _thing_places(found))
    evidence += [f"faq:{t.topic} " + " + ".join(f"'{h}'" for h in t.hits) for t in topics]
    evidence += [f"{kind} '{t}'" for kind, ts in product_cues.items() for t, _w in ts]
    strength = {k: sum(w for _t, w in v) for k, v in product_cues.items()}
    asks_product = sum(strength.values())
    names = bool(found.products or found.categories or found.not_carried)
    best = topics[0] if topics and topics[0].score >= _FAQ_MIN else None

    firm = {k: sum(w for _t, w in v if w >= 1.0) for k, v in product_cues.items()}
    if best is None:
        faq_first = False
    elif best.topic == "stock":  # "¿cuándo vuelve el mom en 38?": restock policy
        faq_first = not (firm.get("price") or firm.get("detail"))
    elif best.topic == "sizes":  # "¿qué talle de jean me conviene?": the size guide
        faq_first = (
            not firm.get("price")
            and firm.get("stock", 0) < 1.0
            and not firm.get("detail")
            and best.score >= 1.5
        )
    else:  # a policy question that mentions garments ("¿el jean tiene cambio?")
        faq_first = not any(v for k, v in firm.items() if k != "fit") and best.score >= 1.0
    if not faq_first and (names and asks_product >= 1.0 or found.products and best is None):
        return _catalogue(found, strength, product_cues, best, evidence, common)
    if best is not None:
        entry = faq.entry_for(best.topic)
        if entry is not None:
            return _faq(entry, best, topics, asks_product, evidence, common)
    if names:
        return _catalogue(found, strength, product_cues, None, evidence, common)
    if firm.get("price", 0) >= 1.0 and not topics:
        cue = product_cues["price"][0][0]
        return Decision(
            Route.CATALOGUE,
            "price",
            f"catalogue:price: asks a price ('{cue}') of no product we could identify",
            0.55,
            evidence=tuple(evidence),
            **common,  # type: ignore[arg-type]
        )
    quiet = not topics and not product_cues
    return Decision(
        Route.LLM,
        "general",
        "llm: no hand-off rule, FAQ topic or product matched"
        if quiet
        else "llm: only weak topic or product cues ("
        + ", ".join(evidence[-3:])
        + ")",
        0.45 if quiet else 0.5,
        evidence=tuple(evidence),
        **common,  # type: ignore[arg-type]
    )


def _catalogue(
    found: Found,
    strength: dict[str, float],
    product_cues: dict[str, list[tuple[str, float]]],
    also: _Scored | None,
    evidence: list[str],
    common: dict[str, object],
) -> Decision:
    if found.not_carried and not found.products and not found.categories:
        intent = "not_carried"
    elif strength.get("price", 0) >= 1.0:
        intent = "price"
    elif strength.get("stock", 0) >= 1.0 and not strength.get("detail"):
        intent = "stock"
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
    cue = next((t for kind in ("price", "stock", "detail") for t, _w in product_cues.get(kind, ())), None)
    reason = f"catalogue:{intent}: {what}" + (f"; asks '{cue}'" if cue else "")
    if also is not None:
        reason += f"; also asks faq:{also.topic}"
    if found.products:
        confidence = 0.9 if cue else 0.75
    else:
        confidence = 0.75 if cue else 0.6
    return Decision(
        Route.CATALOGUE,
        intent,
        reason,
        confidence,
        evidence=tuple(evidence),
        **common,  # type: ignore[arg-type]
    )


def _faq(
    entry: FaqEntry,
    best: _Scored,
    topics: list[_Scored],
    asks_product: float,
    evidence: list[str],
    common: dict[str, object],
) -> Decision:
    second = topics[1] if len(topics) > 1 else None
    reason = f"faq:{entry.key}: " + " + ".join(f"'{h}'" for h in best.hits[:3])
    margin = best.score - (second.score if second else 0.0)
    if second is not None and second.score >= _FAQ_MIN:
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


def _conditional_spans(text: str) -> list[Hit]:
    """From "si"/"if"/"en caso de" to the next comma (or the sentence end)."""
    spans = []
    for m in _CONDITION_RE.finditer(text):
        end = text.find(",", m.end())
        spans.append(Hit("condition", m.start(), len(text) if end < 0 else end, ""))
    return spans


def _overlaps(hit: Hit, spans: list[Hit]) -> bool:
    return any(hit.start < s.end and s.start < hit.end for s in spans)


def _handoff_hits(doc: Document, cues: Cues) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    scan = Scan(*doc.joined())
    shields = cues.not_handoff.by_sentence(scan)
    policy = cues.refund_policy.by_sentence(scan)
    for rule in cues.handoff:
        for si, hits in rule.by_sentence(scan).items():
            sentence = doc.sentences[si]
            if sentence.reply_subject:
                continue  # "Re: Tu pedido 10211" names the earlier message, not this one
            shield = shields.get(si, [])
            for hit in hits:
                if rule.name in _SHIELDED and _overlaps(hit, shield):
                    continue
                if rule.name == "legal" and shield:
                    continue  # "soy abogada y voy a tribunales": a profession
                if rule.name == "refund_dispute" and si in policy:
                    continue
                if (
                    rule.name == "damaged_goods"
                    and sentence.question
                    and hit.text.split()[0] in _PRESENT
                ):
                    continue  # "¿el jean viene roto?" asks about a style
                found[rule.name].append(hit.text)
    praise, timing, waiting = (
        sorted(s for s in rule.by_sentence(scan) if not doc.sentences[s].reply_subject)
        for rule in cues.sarcasm
    )
    for p in praise:
        near = range(p - 1, p + 3)
        if any(t in near for t in timing) and any(w in near for w in waiting):
            found["sarcasm"].append(doc.sentences[p].text[:60])
            break
    return dict(found)


def _thing_places(found: Found) -> dict[int, set[int]]:
    """Words naming a product, a category or an unsold kind, per sentence."""
    out = found.mask()
    for m in found.mentions:
        if m.concept[0] in ("garment", "other"):
            out.setdefault(m.sentence, set()).update(range(m.start, m.end))
    return out


def _char_starts(words: tuple[str, ...]) -> list[int]:
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    return starts


def _topic_and_product_hits(
    doc: Document, cues: Cues, things: dict[int, set[int]]
) -> tuple[list[_Scored], dict[str, list[tuple[str, float]]]]:
    scan = Scan(*doc.joined())
    shields = cues.not_topic.by_sentence(scan)
    topic_hits: dict[int, list[tuple[str, Hit, float]]] = defaultdict(list)
    for topic, rules in cues.topics.items():
        for rule in rules:
            for si, hits in rule.by_sentence(scan).items():
                topic_hits[si] += [
                    (topic, h, rule.weight) for h in hits if not _overlaps(h, shields.get(si, []))
                ]
    product_hits: dict[int, list[tuple[str, Hit, float]]] = defaultdict(list)
    for kind, rules in cues.product.items():
        for rule in rules:
            for si, hits in rule.by_sentence(scan).items():
                product_hits[si] += [(kind, h, rule.weight) for h in hits]
    scored: dict[str, _Scored] = {}
    product: dict[str, list[tuple[str, float]]] = defaultdict(list)
    asks = any(s.question for s in doc.sentences if not s.subject)
    for si, sentence in enumerate(doc.sentences):
        if si not in topic_hits and si not in product_hits:
            continue
        text = sentence.text
        factor = 1.5 if sentence.question else (0.8 if asks else 1.0)
        if sentence.subject:
            factor = 0.4 if sentence.reply_subject else 0.75
        conditions = _conditional_spans(text)
        # Overlapping hits of one topic count once (the strongest).
        ordered = sorted(topic_hits.get(si, []), key=lambda th: (-th[2], th[1].start))
        kept: list[tuple[str, Hit, float]] = []
        for topic, hit, weight in ordered:
            if not any(t == topic and _overlaps(hit, [h]) for t, h, _w in kept):
                kept.append((topic, hit, weight))
        for topic, hit, weight in kept:
            entry = scored.get(topic)
            if entry is None:
                entry = scored[topic] = _Scored(topic, 0.0, (si, hit.start), [])
            # An "if …" clause is context: "if I pay by transfer, when does it ship?"
            conditional = _overlaps(hit, conditions) and hit.text.split()[0] not in ("si", "if")
            gain = weight * factor * (0.5 if conditional else 1.0)
            entry.score += gain
            entry.asked += gain if sentence.question else 0.0
            entry.first = min(entry.first, (si, hit.start))
            entry.hits.append(hit.text)
        shown = tuple("§" if i in sentence.masked else w for i, w in enumerate(sentence.words))
        starts = _char_starts(shown)
        products_at = [starts[i] for i in sorted(things.get(si, ())) if i < len(starts)]
        for kind, hit, weight in product_hits.get(si, []):
            # "¿tienen talle M?" asks stock: size words never take a stock phrase.
            owners = [k for k in kept if not (k[0] == "sizes" and kind == "stock")]
            if _overlaps(hit, shields.get(si, [])) or _attached(hit, owners, products_at):
                continue
            product[kind].append((hit.text, weight))
    return _rank_topics(scored), dict(product)


def _rank_topics(scored: dict[str, _Scored]) -> list[_Scored]:
    """Best topic first. Two topics about equally strong: the one the question sentences
    ask about, else the one named first. The cost of shipping an exchange is a returns
    question ("¿el cambio tiene costo de envío?")."""
    ranked = sorted(scored.values(), key=lambda t: (-t.score, t.first))
    if len(ranked) < 2:
        return ranked
    a, b = ranked[0], ranked[1]
    returns = scored.get("returns")
    if a.topic in ("shipping", "payments") and returns is not None and returns.score >= 0.5:
        # "¿el envío de vuelta lo pago yo?" after an exchange: the returns policy says
        return [returns, *(t for t in ranked if t is not returns)]
    if b.score >= a.score * 0.6:
        if b.asked > a.asked or (b.asked == a.asked and b.first < a.first):
            return [b, a, *ranked[2:]]
    return ranked


def _attached(hit: Hit, topic_hits: list[tuple[str, Hit, float]], products_at: list[int]) -> bool:
    """A price/stock phrase that belongs to a topic phrase ("costo de envío", "¿hay
    envío gratis?") rather than to a product."""
    best: int | None = None
    for _topic, t, _w in topic_hits:
        if _overlaps(hit, [t]):
            return True
        gap = max(t.start - hit.end, hit.start - t.end)
        if gap <= _ATTACH_CHARS and (best is None or gap < best):
            best = gap
    if best is None:
        return False
    closest_product = min((abs(p - hit.start) for p in products_at), default=None)
    return closest_product is None or best < closest_product
