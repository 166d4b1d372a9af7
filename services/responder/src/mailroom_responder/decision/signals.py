"""What one email says, rule by rule: hand-off hits, FAQ topic scores, product cues. Pure.

``routing`` turns these signals into a decision. Every rule of ``cues.yaml`` is scanned
once over the whole masked document (sentences joined by newlines, which no pattern
crosses) and its hits are grouped per sentence.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from mailroom_responder.decision.catalogue import Found
from mailroom_responder.decision.cues import Cues, Hit, Rule, Scan
from mailroom_responder.decision.document import Document

__all__ = [
    "Layout",
    "ProductCues",
    "Scored",
    "handoff_hits",
    "layout_signals",
    "scan_document",
    "thing_places",
    "topic_and_product_hits",
]

ProductCues = dict[str, list[tuple[str, float]]]
# What each sentence holds, by index: "thing" (names a product, category or unsold kind),
# "topic" (an FAQ topic hit), "cue" (a price/stock/detail phrase), "question".
Layout = dict[int, frozenset[str]]

_SHIELDED = frozenset({"legal", "angry", "damaged_goods", "wrong_item", "refund_dispute"})
_PRESENT = frozenset(
    ["esta", "estan", "viene", "vienen", "tiene", "tienen", "is", "are", "it's", "comes", "come"]
)
_CONDITION_RE = re.compile(
    r"(?<![a-z0-9ñ])(si|if|en caso de|in case|once|una vez que)(?![a-z0-9ñ])"
)
_ATTACH_CHARS = 24  # a price/stock phrase this close to a topic phrase belongs to it


@dataclass(slots=True)
class Scored:
    topic: str
    score: float
    first: tuple[int, int]  # (sentence, char) of its first hit
    hits: list[str]
    asked: float = 0.0  # the part of the score from question sentences


def _conditional_spans(text: str) -> list[Hit]:
    """From "si"/"if"/"en caso de" to the next comma (or the sentence end)."""
    spans = []
    for m in _CONDITION_RE.finditer(text):
        end = text.find(",", m.end())
        spans.append(Hit("condition", m.start(), len(text) if end < 0 else end, ""))
    return spans


def _overlaps(hit: Hit, spans: list[Hit]) -> bool:
    return any(hit.start < s.end and s.start < hit.end for s in spans)


def scan_document(doc: Document, cues: Cues) -> Scan:
    """Every rule's hits in the (masked) document, found in one pass."""
    return cues.prime(Scan(*doc.joined()))


def handoff_hits(doc: Document, cues: Cues, scan: Scan) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
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


def thing_places(found: Found) -> dict[int, set[int]]:
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


def topic_and_product_hits(
    doc: Document, cues: Cues, things: dict[int, set[int]], scan: Scan
) -> tuple[list[Scored], ProductCues, Layout]:
    shields = cues.not_topic.by_sentence(scan)
    topic_hits = _scan(cues.topics, scan, shields)
    product_hits = _scan(cues.product, scan, {})
    scored: dict[str, Scored] = {}
    product: ProductCues = defaultdict(list)
    layout: dict[int, set[str]] = defaultdict(set)
    for si in things:
        layout[si].add("thing")
    asks = any(s.question for s in doc.sentences if not s.subject)
    for si, sentence in enumerate(doc.sentences):
        if sentence.question and not sentence.subject:
            layout[si].add("question")
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
                entry = scored[topic] = Scored(topic, 0.0, (si, hit.start), [])
            # An "if …" clause is context: "if I pay by transfer, when does it ship?"
            conditional = _overlaps(hit, conditions) and hit.text.split()[0] not in ("si", "if")
            gain = weight * factor * (0.5 if conditional else 1.0)
            entry.score += gain
            entry.asked += gain if sentence.question else 0.0
            entry.first = min(entry.first, (si, hit.start))
            entry.hits.append(hit.text)
            layout[si].add("topic")
        shown = tuple("§" if i in sentence.masked else w for i, w in enumerate(sentence.words))
        starts = _char_starts(shown)
        products_at = [starts[i] for i in sorted(things.get(si, ())) if i < len(starts)]
        for kind, hit, weight in product_hits.get(si, []):
            # "¿tienen talle M?" asks stock: size words never take a stock phrase.
            owners = [k for k in kept if not (k[0] == "sizes" and kind == "stock")]
            if _overlaps(hit, shields.get(si, [])) or _attached(hit, owners, products_at):
                continue
            product[kind].append((hit.text, weight))
            layout[si].add("cue")
    return _rank_topics(scored), dict(product), {si: frozenset(v) for si, v in layout.items()}


def layout_signals(layout: Layout) -> list[str]:
    """How products and topics share the sentences: "si compro dos pantalones, ¿pago un
    solo envío?" (one sentence, a policy) reads apart from "¿hay tapado en S? ¿y cuánto
    tarda el envío?" (two questions, one each)."""
    out: set[str] = set()
    for marks in layout.values():
        asked = "question" in marks
        if "thing" in marks and "topic" in marks:
            out.add("layout:thing_with_topic")
        elif "thing" in marks and asked:
            out.add("layout:thing_asked" + ("_cue" if "cue" in marks else ""))
        elif "topic" in marks and asked:
            out.add("layout:topic_asked_apart")
    if {"layout:topic_asked_apart"} <= out and out & {
        "layout:thing_asked",
        "layout:thing_asked_cue",
    }:
        out.add("layout:two_questions")
    return sorted(out)


def _scan(
    rules_by_name: dict[str, tuple[Rule, ...]], scan: Scan, shields: dict[int, list[Hit]]
) -> dict[int, list[tuple[str, Hit, float]]]:
    """(name, hit, weight) per sentence for a family of rules, minus shielded hits."""
    out: dict[int, list[tuple[str, Hit, float]]] = defaultdict(list)
    for name, rules in rules_by_name.items():
        for rule in rules:
            for si, hits in rule.by_sentence(scan).items():
                out[si] += [
                    (name, h, rule.weight) for h in hits if not _overlaps(h, shields.get(si, []))
                ]
    return out


def _rank_topics(scored: dict[str, Scored]) -> list[Scored]:
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
    close = b.score >= a.score * 0.6
    if close and (b.asked > a.asked or (b.asked == a.asked and b.first < a.first)):
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
