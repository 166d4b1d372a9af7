"""The catalogue in memory and relevance-ranked retrieval into a prompt excerpt (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from mailroom_responder.decision.text import fold, tokens

__all__ = [
    "Catalogue",
    "ProductInfo",
    "Query",
    "VariantInfo",
    "format_price",
    "parse_query",
    "stem",
]

_STOP = frozenset(
    [
        "a",
        "al",
        "algo",
        "alguna",
        "alguno",
        "como",
        "con",
        "cual",
        "de",
        "del",
        "el",
        "en",
        "es",
        "esa",
        "ese",
        "esta",
        "este",
        "hay",
        "la",
        "las",
        "le",
        "lo",
        "los",
        "me",
        "mi",
        "mis",
        "no",
        "o",
        "para",
        "por",
        "que",
        "se",
        "si",
        "su",
        "sus",
        "te",
        "tenes",
        "tienen",
        "tiene",
        "tienes",
        "un",
        "una",
        "uno",
        "unos",
        "unas",
        "y",
        "ya",
        "hola",
        "gracias",
        "quiero",
        "quisiera",
        "saber",
        "precio",
        "cuanto",
        "cuesta",
        "sale",
        "vale",
        "stock",
        "talle",
        "talles",
        "color",
        "colores",
        "disponible",
        "the",
        "and",
        "an",
        "of",
        "in",
        "is",
        "are",
        "do",
        "does",
        "you",
        "have",
        "has",
        "for",
        "with",
        "what",
        "how",
        "much",
        "price",
        "size",
        "colour",
        "color",
        "any",
        "it",
        "this",
        "that",
        "my",
        "i",
        "please",
        "hi",
        "hello",
        "thanks",
        "available",
        "queda",
        "quedan",
    ]
)
_SIZE_WORDS = frozenset({"xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl", "u", "unico"})
_SIZE_CUE_RE = re.compile(r"\b(?:talle|talla|size|numero|nro)\s+([a-z0-9]{1,4})\b")


def stem(word: str) -> str:
    """Crude Spanish/English stem so "remeras"/"remera" and "negra"/"negro" meet."""
    base = word
    if base.endswith("es") and len(base) > 4:
        base = base[:-2]
    elif base.endswith("s") and len(base) > 3:
        base = base[:-1]
    if base[-1:] in ("a", "e", "o") and len(base) > 3:
        base = base[:-1]
    return base


def _stems(text: str) -> set[str]:
    return {stem(t) for t in tokens(text) if t not in _STOP and not t.isdigit()}


def format_price(price: Decimal) -> str:
    """ "12500" or "12500.50": no thousands separator, so figures compare exactly."""
    quantised = price.quantize(Decimal("0.01"))
    return str(quantised.to_integral()) if quantised == quantised.to_integral() else str(quantised)


@dataclass(frozen=True, slots=True)
class VariantInfo:
    size: str
    colour: str
    price: Decimal
    currency: str
    stock: int


@dataclass(frozen=True, slots=True)
class ProductInfo:
    sku: str
    name: str
    category: str
    keywords: str = ""
    description: str = ""
    variants: tuple[VariantInfo, ...] = ()
    name_stems: frozenset[str] = field(default=frozenset(), compare=False)
    keyword_stems: frozenset[str] = field(default=frozenset(), compare=False)
    category_stems: frozenset[str] = field(default=frozenset(), compare=False)
    colour_stems: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def build(
        cls,
        *,
        sku: str,
        name: str,
        category: str,
        variants: tuple[VariantInfo, ...],
        keywords: str = "",
        description: str = "",
    ) -> ProductInfo:
        return cls(
            sku=sku,
            name=name,
            category=category,
            keywords=keywords,
            description=description,
            variants=variants,
            name_stems=frozenset(_stems(name)),
            keyword_stems=frozenset(_stems(keywords)),
            category_stems=frozenset(_stems(category)),
            colour_stems=frozenset(s for v in variants for s in _stems(v.colour)),
        )


@dataclass(frozen=True, slots=True)
class Query:
    stems: frozenset[str]
    sizes: frozenset[str]


def parse_query(text: str) -> Query:
    folded = fold(text)
    sizes = {m.group(1) for m in _SIZE_CUE_RE.finditer(folded)}
    sizes |= {t for t in tokens(text) if t in _SIZE_WORDS and t not in {"s", "u"}}
    return Query(frozenset(_stems(text)), frozenset(sizes))


@dataclass(frozen=True, slots=True)
class Catalogue:
    products: tuple[ProductInfo, ...] = ()

    def rank(self, text: str, limit: int = 5) -> list[tuple[float, ProductInfo]]:
        """Products the text is about, best first; only products whose name, keywords
        or category the text mentions qualify (colour or size alone are not enough)."""
        query = parse_query(text)
        scored: list[tuple[float, ProductInfo]] = []
        for product in self.products:
            name_hits = len(query.stems & product.name_stems)
            base = (
                3.0 * name_hits
                + 2.0 * len(query.stems & product.keyword_stems)
                + 2.0 * len(query.stems & product.category_stems)
            )
            if base == 0:
                continue
            if product.name_stems and product.name_stems <= query.stems:
                base += 3.0  # the whole product name is in the text
            base += 1.0 * len(query.stems & product.colour_stems)
            if query.sizes & {fold(v.size) for v in product.variants}:
                base += 1.0
            scored.append((base, product))
        scored.sort(key=lambda item: (-item[0], item[1].name))
        return scored[:limit]

    def excerpt(self, text: str, max_chars: int = 2000, limit: int = 5) -> str:
        """Lines "- name (category) SKU: size colour $price stock n; ..." within max_chars."""
        query = parse_query(text)
        lines: list[str] = []
        used = 0
        for _score, product in self.rank(text, limit):
            line = _product_line(product, query)
            if used + len(line) + 1 > max_chars:
                room = max_chars - used - 1
                if room < 60:
                    break
                line = line[: room - 1].rsplit(";", 1)[0] + "…"
            lines.append(line)
            used += len(line) + 1
        return "\n".join(lines)


def _variant_text(v: VariantInfo) -> str:
    symbol = "$" if v.currency in ("ARS", "USD") else v.currency + " "
    return f"talle {v.size} {v.colour} {symbol}{format_price(v.price)} stock {v.stock}"


def _product_line(product: ProductInfo, query: Query) -> str:
    def relevance(v: VariantInfo) -> tuple[int, int, str, str]:
        size_hit = fold(v.size) in query.sizes
        colour_hit = bool(_stems(v.colour) & query.stems)
        return (-int(size_hit), -int(colour_hit), v.colour, v.size)

    variants = "; ".join(_variant_text(v) for v in sorted(product.variants, key=relevance))
    return f"- {product.name} ({product.category}) SKU {product.sku}: {variants or 'sin variantes'}"
