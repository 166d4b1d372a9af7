"""The catalogue in memory: which products a mail names, and the prompt excerpt. Pure.

A product is *named* when the mail mentions its type (campera, jacket, chaqueta…) next
to one of its attributes (jean, denim…), when it is the only product of a type the mail
mentions, or when the mail uses a style word only that product has ("mom", "oxford").
Words of the lexicon meet across languages, so "black denim jacket" names "Campera de
jean"; typos one edit away are corrected. A type mentioned without a product is a
*category* question; a product kind the shop does not sell is *not carried*.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from mailroom_responder.decision.document import Document, read_document
from mailroom_responder.decision.lexicon import (
    STOPWORDS,
    Concept,
    Lexicon,
    Mention,
    default_lexicon,
    stem,
)
from mailroom_responder.decision.text import fold, tokens

__all__ = [
    "Catalogue",
    "Match",
    "ProductInfo",
    "VariantInfo",
    "format_price",
    "sizes_asked",
    "stem",
]

_SIZE_WORDS = frozenset({"xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl", "unico"})
# Materials and colours tell products apart only next to a type word.
_MATERIALS = frozenset(
    {"jean", "lino", "algodon", "lana", "cuero", "hilo", "frisa", "lona", "pano", "basica"}
)
_NEAR = 5  # words between a type and its attribute


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
        return cls(sku, name, category, keywords, description, variants)


@dataclass(frozen=True, slots=True)
class _Indexed:
    product: ProductInfo
    type: Concept | None
    attributes: frozenset[Concept]
    distinctive: frozenset[Concept] = frozenset()


@dataclass(frozen=True, slots=True)
class _Index:
    rows: tuple[_Indexed, ...]
    owners: dict[Concept, tuple[int, ...]]  # concept → rows whose type/attribute it is
    per_type: dict[Concept, int]


@dataclass(frozen=True, slots=True)
class Match:
    """A product the mail names: score, the words that name it, and why."""

    product: ProductInfo
    score: float
    sentence: int
    positions: frozenset[int]
    via: str
    # Every place (sentence, word) the product is named, for masking.
    places: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True, slots=True)
class Found:
    """Everything catalogue-related in one mail."""

    products: tuple[Match, ...] = ()
    categories: tuple[str, ...] = ()  # garment types named with no specific product
    not_carried: tuple[str, ...] = ()  # product kinds the shop does not sell
    styles: tuple[Mention, ...] = ()
    mentions: tuple[Mention, ...] = ()

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(m.product.sku for m in self.products)

    def mask(self) -> dict[int, set[int]]:
        """Word positions (per sentence) that belong to product names or style names."""
        out: dict[int, set[int]] = defaultdict(set)
        for m in self.products:
            out[m.sentence] |= m.positions
            for sentence, word in m.places:
                out[sentence].add(word)
        for s in self.styles:
            out[s.sentence] |= set(range(s.start, s.end))
        return out


def _word_concepts(text: str) -> set[Concept]:
    return {("word", stem(t)) for t in tokens(text) if t not in STOPWORDS and not t.isdigit()}


@dataclass(frozen=True)
class Catalogue:
    products: tuple[ProductInfo, ...] = ()
    lexicon: Lexicon | None = field(default=None, compare=False)
    _index: list[_Index] = field(default_factory=list, compare=False, repr=False)

    @property
    def vocabulary(self) -> Lexicon:
        return self.lexicon or default_lexicon()

    def _indexed(self) -> tuple[_Indexed, ...]:
        return self._full_index().rows

    def _full_index(self) -> _Index:
        if not self._index:  # built on first use, once per catalogue load
            rows = self._build_index()
            owners: dict[Concept, list[int]] = defaultdict(list)
            per_type: dict[Concept, int] = defaultdict(int)
            for i, row in enumerate(rows):
                if row.type:
                    per_type[row.type] += 1
                for c in (row.type, *row.attributes):
                    if c is not None:
                        owners[c].append(i)
            self._index.append(
                _Index(rows, {c: tuple(ix) for c, ix in owners.items()}, dict(per_type))
            )
        return self._index[0]

    def _build_index(self) -> tuple[_Indexed, ...]:
        lex = self.vocabulary
        rows: list[_Indexed] = []
        for p in self.products:
            name_mentions = lex.find([tokens(p.name)], fuzzy=False)
            types = [m.concept for m in name_mentions if m.concept[0] == "garment"]
            if not types:
                types = [c for c in lex.concepts_of(p.category) if c[0] == "garment"]
            kind = types[0] if types else None
            attrs = {m.concept for m in name_mentions if m.concept[0] in ("attribute", "colour")}
            attrs |= {c for c in lex.concepts_of(p.keywords) if c[0] == "attribute"}
            known = {w for m in name_mentions for w in m.text.split()}
            attrs |= {c for c in _word_concepts(p.name) if stem(c[1]) not in known}
            attrs = {
                c
                for c in attrs
                if not (kind and c[0] == "attribute" and c[1] == kind[1])
                and (c[0] != "word" or c[1] not in {stem(w) for w in known})
            }
            rows.append(_Indexed(p, kind, frozenset(attrs)))
        owners: dict[Concept, set[str]] = defaultdict(set)
        for row in rows:
            for c in row.attributes:
                owners[c].add(row.product.sku)
        return tuple(
            _Indexed(
                r.product,
                r.type,
                r.attributes,
                frozenset(
                    c
                    for c in r.attributes
                    if len(owners[c]) == 1 and c[0] == "attribute" and c[1] not in _MATERIALS
                ),
            )
            for r in rows
        )

    def find(self, doc: Document, *, fuzzy: bool = True) -> Found:
        """The products, categories and unsold kinds a mail mentions (``fuzzy``: words one
        edit from a lexicon word count as it, for customers' typos; not for our replies)."""
        index = self._indexed()
        mentions = self.vocabulary.find(doc.words, fuzzy=fuzzy)
        words: list[Mention] = [
            Mention(("word", stem(w)), si, wi, wi + 1, w)
            for si, sentence in enumerate(doc.sentences)
            for wi, w in enumerate(sentence.words)
            if w not in STOPWORDS
        ]
        by_concept: dict[Concept, list[Mention]] = defaultdict(list)
        for m in (*mentions, *words):
            by_concept[m.concept].append(m)
        full = self._full_index()
        per_type = full.per_type
        garments_here = [m for m in mentions if m.concept[0] == "garment"]
        matches: list[Match] = []
        owners = full.owners
        candidates = sorted({i for c in by_concept for i in owners.get(c, ())})
        for row in (index[i] for i in candidates):
            match = _match(row, by_concept, per_type, garments_here)
            if match is not None:
                matches.append(_with_places(match, row, by_concept, per_type))
        matches.sort(key=lambda m: (-m.score, m.sentence, min(m.positions), m.product.name))
        named_types = {r.type for r in index if r.product.sku in {m.product.sku for m in matches}}
        categories = sorted(
            {
                m.concept[1]
                for m in garments_here
                if m.concept in per_type and m.concept not in named_types
            }
            | {
                # "any linen stuff?": a material the shop sells, with no garment named
                m.concept[1]
                for m in mentions
                if m.concept[1] in _MATERIALS
                and m.concept[0] == "attribute"
                and not garments_here
                and not matches
                and m.concept in full.owners
            }
        )
        used = {(m.sentence, p) for m in matches for p in m.positions}
        unsold: dict[Concept, str] = {}  # one word per kind ("malla", not also "mallas")
        for m in mentions:
            if m.concept[0] == "other" and (m.sentence, m.start) not in used:
                unsold.setdefault(m.concept, m.text)
        not_carried = sorted(set(unsold.values()))
        styles = tuple(m for m in mentions if m.concept[0] == "style")
        return Found(tuple(matches), tuple(categories), tuple(not_carried), styles, tuple(mentions))

    def rank(self, text: str, limit: int = 5) -> list[tuple[float, ProductInfo]]:
        """Products the text is about, best first: named ones, then others of the same or
        the mentioned types."""
        doc = read_document("", text)
        return [(score, p) for score, p in self._related(self.find(doc))][:limit]

    def _related(self, found: Found) -> list[tuple[float, ProductInfo]]:
        index = self._indexed()
        out: list[tuple[float, ProductInfo]] = [(m.score, m.product) for m in found.products]
        seen = {p.sku for _, p in out}
        wanted_types = {("garment", c) for c in found.categories}
        wanted_types |= {r.type for r in index if r.product.sku in seen and r.type}
        for row in index:
            if row.type in wanted_types and row.product.sku not in seen:
                out.append((1.0, row.product))
                seen.add(row.product.sku)
        return out

    def excerpt(self, text: str, max_chars: int = 2000, limit: int = 5) -> str:
        """Lines "- name (category) SKU: size colour $price stock n; ..." within max_chars."""
        doc = read_document("", text)
        return self.excerpt_for(doc, self.find(doc), max_chars, limit)

    def excerpt_for(self, doc: Document, found: Found, max_chars: int, limit: int = 5) -> str:
        """The excerpt for a mail already read: every named product gets a line (the budget
        is shared), then related products while room is left."""
        ranked = self._related(found)
        named = len(found.products)
        chosen = [p for _, p in ranked[: max(limit, named)]]
        sizes = {w for ws in sizes_asked(doc).values() for w in ws}
        colours = {m.concept[1] for m in found.mentions if m.concept[0] == "colour"}
        lines: list[str] = []
        used = 0
        for i, product in enumerate(chosen):
            line = _product_line(product, sizes, colours)
            must = i < named
            share = (max_chars - used) // max(1, (named - i) if must else 1) - 1
            if len(line) > share:
                if share < 60:
                    if must and share > 20:
                        line = line[: share - 1] + "…"
                    else:
                        break
                else:
                    line = line[: share - 1].rsplit(";", 1)[0] + "…"
            lines.append(line)
            used += len(line) + 1
        return "\n".join(lines)


def _in_text_order(m: Mention) -> tuple[int, int, int]:
    return (m.sentence, m.start, m.end)


def _match(
    row: _Indexed,
    by_concept: dict[Concept, list[Mention]],
    per_type: dict[Concept, int],
    garments_here: list[Mention],
) -> Match | None:
    type_ms = by_concept.get(row.type, []) if row.type else []
    # in text order (the row's concepts are a set): the same mail gives the same evidence
    attr_ms = sorted((m for c in row.attributes for m in by_concept.get(c, [])), key=_in_text_order)
    best: Match | None = None
    for t in type_ms:
        near = [a for a in attr_ms if a.sentence == t.sentence and abs(a.start - t.start) <= _NEAR]
        if near:
            concepts = {a.concept for a in near}
            positions = set(range(t.start, t.end))
            for a in near:
                positions |= set(range(a.start, a.end))
            lo, hi = min(positions), max(positions)
            positions |= set(range(lo, hi + 1)) if hi - lo <= _NEAR else set()
            via = " + ".join([t.text, *sorted({a.text for a in near})])
            score = 3.0 + 2.0 * len(concepts)
            if best is None or score > best.score:
                best = Match(row.product, score, t.sentence, frozenset(positions), via)
    if best is not None:
        return best
    if type_ms and per_type.get(row.type or ("", ""), 0) == 1:
        t = type_ms[0]
        return Match(row.product, 3.0, t.sentence, frozenset(range(t.start, t.end)), t.text)
    distinct = sorted(
        (m for c in row.distinctive for m in by_concept.get(c, [])), key=_in_text_order
    )
    for d in distinct:
        clash = any(
            g.sentence == d.sentence and abs(g.start - d.start) <= 2 and g.concept != row.type
            for g in garments_here
        )
        if not clash:
            return Match(row.product, 2.5, d.sentence, frozenset(range(d.start, d.end)), d.text)
    if row.type is None:
        words = [m for m in attr_ms if m.concept[0] == "word"]
        if len({m.concept for m in words}) >= 2:
            first = words[0]
            span = {m.start for m in words if m.sentence == first.sentence}
            return Match(row.product, 3.0, first.sentence, frozenset(span), first.text)
    return None


def _with_places(
    match: Match,
    row: _Indexed,
    by_concept: dict[Concept, list[Mention]],
    per_type: dict[Concept, int],
) -> Match:
    """Every later mention of a named product is masked too ("el mom… ¿tienen el mom?")."""
    places = {(match.sentence, p) for p in match.positions}
    concepts = set(row.distinctive)
    if row.type and per_type.get(row.type, 0) == 1:
        concepts.add(row.type)
    if row.type:
        types = by_concept.get(row.type, [])
        for a in (m for c in row.attributes for m in by_concept.get(c, [])):
            if any(t.sentence == a.sentence and abs(t.start - a.start) <= _NEAR for t in types):
                concepts.add(a.concept)
                concepts.add(row.type)
    for c in concepts:
        for m in by_concept.get(c, []):
            places |= {(m.sentence, p) for p in range(m.start, m.end)}
    return Match(
        match.product, match.score, match.sentence, match.positions, match.via, frozenset(places)
    )


def sizes_asked(doc: Document) -> dict[int, set[str]]:
    """Sizes the mail names, per sentence: "M", "xl", "talle 40", "in S" (a bare "s" is a
    size only after talle/talla/size/en/in)."""
    out: dict[int, set[str]] = defaultdict(set)
    for si, s in enumerate(doc.sentences):
        for i, w in enumerate(s.words):
            before = s.words[i - 1] if i else ""
            sized = before in ("talle", "talla", "size", "numero", "nro")
            # "¿las tienen en 40?": a shoe or trouser size after en/el/in
            numbered = before in ("en", "el", "in") and w.isdigit() and 30 <= int(w) <= 50
            if (w in _SIZE_WORDS and (w != "s" or before in ("en", "in"))) or (
                (sized and len(w) <= 4) or numbered
            ):
                out[si].add(w)
    return dict(out)


def _variant_text(v: VariantInfo) -> str:
    symbol = "$" if v.currency in ("ARS", "USD") else v.currency + " "
    return f"talle {v.size} {v.colour} {symbol}{format_price(v.price)} stock {v.stock}"


def _product_line(product: ProductInfo, sizes: set[str], colours: set[str]) -> str:
    def relevance(v: VariantInfo) -> tuple[int, int, str, str]:
        size_hit = fold(v.size) in sizes
        colour_hit = bool({stem(t) for t in tokens(v.colour)} & {stem(c) for c in colours})
        return (-int(size_hit), -int(colour_hit), v.colour, v.size)

    variants = "; ".join(_variant_text(v) for v in sorted(product.variants, key=relevance))
    return f"- {product.name} ({product.category}) SKU {product.sku}: {variants or 'sin variantes'}"
