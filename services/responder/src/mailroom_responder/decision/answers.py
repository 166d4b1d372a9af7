"""Catalogue answers written without the LLM, from the shop's templates and live figures.

Pure. When the router has named the product(s) and the mail asks their price or stock
(a size, a colour, "do you have X in Y"), or asks for a kind of product the shop does not
sell, the reply is composed here: one paragraph per product with its price and what is in
stock and sold out, the FAQ answer (the facts asked about) when the mail asks a policy too,
the shop's greeting and closing around them. Every figure comes from the catalogue cache
and is listed in ``Answer.facts``, so a benchmark can check each one. Anything else
(advice, materials, fit, comparisons, open questions) returns None: the LLM answers it,
with the excerpt.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from mailroom_common.events import Route
from mailroom_responder.decision.catalogue import (
    Catalogue,
    Match,
    ProductInfo,
    VariantInfo,
    sizes_asked,
)
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.decision.lexicon import stem
from mailroom_responder.decision.routing import Decision
from mailroom_responder.decision.text import fold, tokens

__all__ = ["Answer", "Fact", "catalogue_answer", "money"]

_ANSWERED_INTENTS = frozenset({"price", "stock", "not_carried"})
# What a template cannot answer: the LLM does, with the excerpt.
_OPEN_ASKS = frozenset({"detail", "fit"})
_MAX_PRODUCTS = 4
_MAX_ALTERNATIVES = 3
_MAX_LISTED = 5
_WEAKER_BY = 1.9  # a match this much weaker than the best is not answered about


@dataclass(frozen=True, slots=True)
class Fact:
    """One figure stated in a reply: ``what`` is "price" or "stock", ``value`` the text."""

    sku: str
    what: str
    value: str
    size: str = ""
    colour: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    facts: tuple[Fact, ...]
    reason: str  # "catalogue template v3: price REM-BAS" (recorded on the task)
    skus: tuple[str, ...] = ()  # the products it answers about (not lists, alternatives)


def money(price: Decimal, currency: str, language: str) -> str:
    """ "$ 12.900" (es) or "ARS 12,900" (en); cents only when there are any."""
    quantised = price.quantize(Decimal("0.01"))
    whole = quantised == quantised.to_integral()
    text = f"{quantised:,.0f}" if whole else f"{quantised:,.2f}"
    if language == "es":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
        return f"$ {text}" if currency == "ARS" else f"{currency} {text}"
    return f"{currency} {text}"


def _join(items: list[str], language: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    last = " y " if language == "es" else " and "
    return ", ".join(items[:-1]) + last + items[-1]


def _same_colour(variant: VariantInfo, colours: set[str]) -> bool:
    return bool({stem(t) for t in tokens(variant.colour)} & {stem(c) for c in colours})


@dataclass(frozen=True, slots=True)
class _Asked:
    sizes: frozenset[str]
    colours: frozenset[str]


def _asked_of(
    match: Match, by_sentence: dict[int, _Asked], elsewhere: _Asked, *, alone: bool
) -> _Asked:
    """The sizes and colours asked of one product: those in its own sentences, else those
    of sentences naming no product ("¿tienen el mom? ¿en 40?"); with several products,
    only those it comes in (the 40 of the jeans is not the shirt's)."""
    product = match.product
    sentences = _sentences_of(match)
    sizes = {z for s in sentences if s in by_sentence for z in by_sentence[s].sizes}
    colours = {c for s in sentences if s in by_sentence for c in by_sentence[s].colours}
    if not sizes:
        own = {fold(v.size) for v in product.variants}
        sizes = {z for z in elsewhere.sizes if alone or z in own}
    if not colours:
        colours = {
            c
            for c in elsewhere.colours
            if alone or any(_same_colour(v, {c}) for v in product.variants)
        }
    return _Asked(frozenset(sizes), frozenset(colours))


def _sentences_of(match: Match) -> set[int]:
    return {match.sentence} | {s for s, _w in match.places}


# Colour names for English replies (catalogues name colours in Spanish).
_COLOUR_EN = {
    "negro": "black",
    "blanco": "white",
    "gris": "grey",
    "azul": "blue",
    "celeste": "light blue",
    "rojo": "red",
    "verde": "green",
    "beige": "beige",
    "crudo": "ecru",
    "marron": "brown",
    "rosa": "pink",
    "amarillo": "yellow",
    "bordo": "burgundy",
    "violeta": "purple",
    "naranja": "orange",
    "multicolor": "multicolour",
}


class _Writer:
    def __init__(self, templates: dict[str, dict[str, str]], language: str) -> None:
        self.templates = templates
        self.language = language
        self.facts: list[Fact] = []

    def say(self, name: str, **values: str) -> str:
        return self.templates[name][self.language].format(**values)

    def figure(self, product: ProductInfo, variants: list[VariantInfo]) -> str:
        """The price of ``variants`` (all of them when empty): one figure, or a range."""
        chosen = variants or list(product.variants)
        for v in chosen:
            self.facts.append(Fact(product.sku, "price", str(v.price), v.size, v.colour))
        prices = sorted({(v.price, v.currency) for v in chosen})
        low, high = money(*prices[0], self.language), money(*prices[-1], self.language)
        return low if low == high else f"{low} – {high}"

    def price_of(self, product: ProductInfo, variants: list[VariantInfo]) -> str:
        chosen = variants or list(product.variants)
        if len({(v.price, v.currency) for v in chosen}) == 1:
            return self.say("price", product=product.name, price=self.figure(product, chosen))
        low, _dash, high = self.figure(product, chosen).partition(" – ")
        return self.say("price_range", product=product.name, low=low, high=high)

    def colour(self, colour: str) -> str:
        if self.language == "en":
            return _COLOUR_EN.get(fold(colour), colour)
        return colour

    def variant_name(self, v: VariantInfo) -> str:
        size = ("talle " if self.language == "es" else "size ") + v.size
        return f"{size} {self.colour(v.colour)}".strip()

    def stock_of(self, product: ProductInfo, asked: _Asked) -> str:
        variants = list(product.variants)
        chosen = [
            v
            for v in variants
            if (not asked.sizes or fold(v.size) in asked.sizes)
            and (not asked.colours or _same_colour(v, set(asked.colours)))
        ]
        if (asked.sizes or asked.colours) and not chosen:
            sizes = sorted({v.size for v in variants}, key=_size_order)
            colours = sorted({self.colour(v.colour) for v in variants})
            own_sizes = {fold(v.size) for v in variants}
            missing = [z.upper() for z in sorted(asked.sizes) if z not in own_sizes]
            missing += [
                self.colour(c)
                for c in sorted(asked.colours)
                if not any(_same_colour(v, {c}) for v in variants)
            ]
            if not missing:  # each exists, not together: "M" and "negro", no black M
                missing = [
                    *(z.upper() for z in sorted(asked.sizes)),
                    *map(self.colour, asked.colours),
                ]
            return self.say(
                "no_such_variant",
                product=product.name,
                asked=_join(missing, self.language),
                sizes=_join(sizes, self.language),
                colours=_join(colours, self.language),
            )
        for v in chosen:
            self.facts.append(Fact(product.sku, "stock", str(v.stock), v.size, v.colour))
        if asked.sizes or asked.colours:
            lines = []
            have = [v for v in chosen if v.stock > 0]
            gone = [v for v in chosen if v.stock <= 0]
            if have:
                names = _join([self.variant_name(v) for v in have], self.language)
                lines.append(self.say("in_stock", product=product.name, variants=names))
            if gone:
                names = _join([self.variant_name(v) for v in gone], self.language)
                lines.append(self.say("sold_out", product=product.name, variants=names))
            return " ".join(lines)
        by_colour: dict[str, list[VariantInfo]] = defaultdict(list)
        for v in chosen:
            if v.stock > 0:
                by_colour[v.colour].append(v)
        if not by_colour:
            return self.say("none_available", product=product.name)
        parts = [
            f"{self.colour(colour)} ({', '.join(sorted((v.size for v in vs), key=_size_order))})"
            for colour, vs in sorted(by_colour.items())
        ]
        return self.say("available", product=product.name, variants=_join(parts, self.language))


_SIZE_RANK = {s: i for i, s in enumerate(("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl"))}


def _size_order(size: str) -> tuple[int, float, str]:
    folded = fold(size)
    if folded in _SIZE_RANK:
        return (0, _SIZE_RANK[folded], folded)
    try:
        return (1, float(folded), folded)
    except ValueError:
        return (2, 0.0, folded)


def catalogue_answer(
    decision: Decision, catalogue: Catalogue, faq: FaqBook, language: str
) -> Answer | None:
    """The reply to a catalogue question from templates and live figures, or None when
    the LLM must answer it (or the FAQ file has no catalogue templates)."""
    templates = faq.catalogue_templates
    if (
        not templates
        or decision.route is not Route.CATALOGUE
        or decision.intent not in _ANSWERED_INTENTS
        or _OPEN_ASKS & set(decision.asks)
        or decision.document is None
    ):
        return None
    lang = "en" if language == "en" else "es"
    writer = _Writer(templates, lang)
    found = decision.found
    skus: tuple[str, ...] = ()
    if decision.intent == "not_carried" or (not found.products and found.not_carried):
        body = _not_carried(writer, decision, catalogue)
    elif found.products:
        body = _products(writer, decision)
        skus = tuple(body[1]) if body is not None else ()
    elif found.categories:
        body = _category(writer, decision, catalogue)
    else:
        body = None
    if body is None:
        return None
    paragraphs, what = body
    entry = faq.entry_for(decision.also_topic) if decision.also_topic else None
    if entry is not None:  # the facts of the policy the mail asks about
        policy = faq.answer(entry, decision.document.raw, lang)
        paragraphs.append(policy.text)
        what.append(f"faq:{policy.label}")
    text = "\n\n".join([writer.say("greeting"), *paragraphs, writer.say("closing")])
    reason = f"catalogue template v{faq.version}: {decision.intent} " + " ".join(what)
    return Answer(text, tuple(writer.facts), reason, skus)


_Body = tuple[list[str], list[str]]  # paragraphs, what they answer


def _products(writer: _Writer, decision: Decision) -> _Body | None:
    found = decision.found
    doc = decision.document
    assert doc is not None
    colours_at: dict[int, set[str]] = defaultdict(set)
    for m in found.mentions:
        if m.concept[0] == "colour":
            colours_at[m.sentence].add(m.concept[1])
    sizes_at = sizes_asked(doc)
    by_sentence = {
        s: _Asked(frozenset(sizes_at.get(s, ())), frozenset(colours_at.get(s, ())))
        for s in set(sizes_at) | set(colours_at)
    }
    named_in = {s for m in found.products for s in _sentences_of(m)}
    elsewhere = _Asked(
        frozenset(z for s, zs in sizes_at.items() if s not in named_in for z in zs),
        frozenset(c for s, cs in colours_at.items() if s not in named_in for c in cs),
    )
    paragraphs: list[str] = []
    what: list[str] = []
    # A product named by its type and attributes outranks one a lone word suggests
    # ("¿tienen la campera de jean en L? ¿abriga?": not the coat that "abriga" recalls).
    top = max(m.score for m in found.products)
    named = [m for m in found.products if m.score >= top - _WEAKER_BY]
    for match in named[:_MAX_PRODUCTS]:
        product = match.product
        if not product.variants:
            return None
        asked = _asked_of(match, by_sentence, elsewhere, alone=len(named) == 1)
        matching = [
            v
            for v in product.variants
            if (not asked.sizes or fold(v.size) in asked.sizes)
            and (not asked.colours or _same_colour(v, set(asked.colours)))
        ]
        lines = [writer.price_of(product, matching), writer.stock_of(product, asked)]
        paragraphs.append(" ".join(lines))
        what.append(product.sku)
    return paragraphs, what


def _not_carried(writer: _Writer, decision: Decision, catalogue: Catalogue) -> _Body | None:
    thing = _join(list(decision.found.not_carried[:2]), writer.language)
    if not thing:
        return None
    paragraphs = [writer.say("not_carried", thing=thing)]
    others = _alternatives(catalogue, decision)
    if others:
        listed = [f"{p.name} ({writer.figure(p, [])})" for p in others]
        paragraphs.append(writer.say("alternatives", products=_join(listed, writer.language)))
    return paragraphs, ["not_carried"]


def _category(writer: _Writer, decision: Decision, catalogue: Catalogue) -> _Body | None:
    categories = decision.found.categories
    named = [p for p in catalogue.products if _in_category(catalogue, p, categories)]
    if not named:
        return None
    listed = [f"{p.name} ({writer.figure(p, [])})" for p in named[:_MAX_LISTED]]
    text = writer.say(
        "category",
        category=_join(list(categories), writer.language),
        products=_join(listed, writer.language),
    )
    return [text], ["category " + ",".join(categories)]


def _in_category(catalogue: Catalogue, product: ProductInfo, categories: tuple[str, ...]) -> bool:
    concepts = catalogue.vocabulary.concepts_of(f"{product.name} {product.category}")
    return any(("garment", c) in concepts for c in categories)


def _alternatives(catalogue: Catalogue, decision: Decision) -> list[ProductInfo]:
    """Up to three products close to what was asked for (sharing its words)."""
    doc = decision.document
    if doc is None:
        return []
    ranked = catalogue.rank(" ".join(" ".join(s.words) for s in doc.sentences), _MAX_ALTERNATIVES)
    return [p for _score, p in ranked if p.variants][:_MAX_ALTERNATIVES]
