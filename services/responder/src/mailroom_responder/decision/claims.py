"""What a reply says about products, checked against the live catalogue. Pure.

A reply is read as the router reads a mail (folded sentences of words). Each sentence,
cut into clauses at commas, "pero"/"but" and brackets, is about the product named
nearest before (else after) in it, or the one the previous sentence was about. Then:

* a **price** (a figure after ``$``/``ARS``, before "pesos", or written with thousands
  separators) must be a price of that product, of a product named right after it
  ("los $28.900 corresponden al buzo cuello redondo"), a total of the products named,
  or a figure the customer wrote;
* a **size or colour** said of a product must be one it comes in;
* a **stock claim** ("tenemos", "disponible", "in stock" / "agotado", "no lo tenemos",
  "sold out") must match live stock for the sizes and colours of its clause, and a count
  ("quedan 2", "only one left") the variant's stock.

Each problem is a short reason naming the product, so a blocked reply can be rewritten.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from mailroom_responder.decision.catalogue import Catalogue, Found, ProductInfo, VariantInfo
from mailroom_responder.decision.datafiles import read_yaml_mapping
from mailroom_responder.decision.document import Document, Sentence, read_document
from mailroom_responder.decision.lexicon import default_lexicon, stem
from mailroom_responder.decision.price_claims import Claim, price_claims
from mailroom_responder.decision.reply_words import (
    PLENTY,
    SCARCE,
    Clause,
    amount_said,
    clauses,
    money_value,
    size_words,
    sizes_of,
)
from mailroom_responder.decision.text import fold, tokens

__all__ = ["Claim", "product_claims"]

_NEGATION = re.compile(
    r"\b(no|sin|ni|agotad[oa]s?|sold out|out of stock|not available|unavailable|"
    r"(?:don|doesn|isn|aren|can|won)'?\s?t|do not|does not|not in stock|no longer|lamentablemente|"
    r"unfortunately|sorry|out of|we re out|ran out|agotamos|no nos queda\w*|agotadisim\w*|"
    r"se (?:nos )?(?:termino|terminaron|acabo|acabaron)|all out|none left|not a single|"
    r"ni uno|ni una|no queda nada)\b"
)
_POSITIVE = re.compile(
    r"\b(tenemos|tengo|hay|disponibles?|stock|queda|quedan|available|in stock|we have|"
    r"we ve got|left|lo podes comprar|availability|"
    r"si(?=\s*(?:,|!|$|hay|tenemos|queda|quedan|lo|la|los|las)\b)|disponibilidad|lo tenes|"
    r"la tenes|"
    r"los tenes|las tenes|plenty|running low|de sobra|queda poco|queda poquito|vuela|"
    r"still have|still got|a few left|quedan pocos|quedan pocas)\b"
)
# "No" that says nothing of stock.
_NOT_NEGATIVE = re.compile(
    r"\b(?:no problem|no hay problema|sin problema|no worries|no te preocupes|don t worry)\b"
)
_EXISTS = re.compile(
    r"\b(viene|vienen|comes|come|made|la hacemos|lo hacemos|los hacemos|fabricamos|existe|"
    r"goes up to|go up to|va hasta|van hasta|llega hasta|llegan hasta)\b"
)
_BREAKS = re.compile(r"[()\[\]—–]|\s-\s")
_RANGE = re.compile(r"\b(?:del|de|from)\s+(\w+)\s+(?:al|a|to)\s+(\w+)\b")


def _colour_ok(variant: VariantInfo, colour: str) -> bool:
    """``colour`` is the lexicon's concept name ("beige"); the variant's colour may be a
    synonym of it ("camel")."""
    if stem(colour) in {stem(t) for t in tokens(variant.colour)}:
        return True
    return ("colour", colour) in default_lexicon().concepts_of(variant.colour)


Groups = list[tuple[str, list[VariantInfo]]]


class _Reader:
    def __init__(self, catalogue: Catalogue, mail_figures: set[Decimal]) -> None:
        self.catalogue = catalogue
        self.mail_figures = mail_figures
        self.claims: list[Claim] = []

    def add(self, kind: str, detail: str) -> None:
        claim = Claim(kind, detail)
        if claim not in self.claims:
            self.claims.append(claim)

    def prices(
        self,
        sentence: Sentence,
        named: list[tuple[int, ProductInfo]],
        current: ProductInfo | None,
        candidates: list[ProductInfo],
    ) -> None:
        for claim in price_claims(sentence, named, current, candidates, self.mail_figures):
            self.add(claim.kind, claim.detail)

    def clause(
        self,
        words: list[str],
        pool: list[ProductInfo],
        colours: list[str],
        *,
        strict: bool,
        context: str = "",
    ) -> Groups:
        """Check one clause about ``pool[0]`` (``strict``: named in it) or about any of
        ``pool`` (carried from earlier: the claim must hold for one of them)."""
        text = " ".join(words)
        problems: list[list[Claim]] = []
        result: Groups = []
        for product in pool if not strict else pool[:1]:
            found, groups = _check_clause(text, words, product, colours, context)
            problems.append(found)
            if not found:
                result = groups
                break
            result = groups
        if problems and all(problems):
            for claim in problems[0]:
                self.add(claim.kind, claim.detail)
        return result if not (problems and all(problems)) else []

    def count(self, group: tuple[str, list[VariantInfo]], said: tuple[int, int]) -> None:
        label, variants = group
        if claim := _amount_claim(label, sum(v.stock for v in variants), said):
            self.add(claim.kind, claim.detail)


def _polarity(text: str, context: str) -> tuple[bool, bool]:
    """(negative, positive) of a clause; a clause with no cue of its own ("…, size 40, is
    unavailable") takes its sentence's, when the sentence has cues of one kind only."""
    text, context = _NOT_NEGATIVE.sub(" ", text), _NOT_NEGATIVE.sub(" ", context)
    negative = bool(_NEGATION.search(text))
    positive = bool(_POSITIVE.search(text)) and not negative
    if negative or positive:
        return negative, positive
    neg, pos = bool(_NEGATION.search(context)), bool(_POSITIVE.search(context))
    return neg and not pos, pos and not neg


def _check_clause(
    text: str, words: list[str], product: ProductInfo, colours: list[str], context: str
) -> tuple[list[Claim], Groups]:
    out: list[Claim] = []
    sizes = size_words(words, product)
    ranged = {g for m in _RANGE.finditer(text) for g in m.groups()}
    own_sizes = sizes_of(product)
    negative, positive = _polarity(text, context)
    for size in sizes if not negative else ():
        if size not in own_sizes and not (size == "unico" and len(own_sizes) == 1):
            out.append(
                Claim("invented_variant", f"{product.name} does not come in size {size.upper()}")
            )
    for colour in colours if not negative else ():
        if not any(_colour_ok(v, colour) for v in product.variants):
            out.append(Claim("invented_variant", f"{product.name} does not come in {colour}"))
    sizes = [s for s in sizes if s in own_sizes and s not in ranged]
    colours = [c for c in colours if any(_colour_ok(v, c) for v in product.variants)]
    if not sizes and not colours:
        return out, []
    if not (negative or positive) or (_EXISTS.search(text) and not _POSITIVE.search(text)):
        return out, []
    own_cue = _NEGATION.search(text) or _POSITIVE.search(text)
    if not own_cue and _EXISTS.search(context):  # "doesn't come in red, only in black"
        return out, []
    picked = [
        v
        for v in product.variants
        if (not sizes or fold(v.size) in sizes)
        and (not colours or any(_colour_ok(v, c) for c in colours))
    ]
    groups = [(f"{product.name} {label}", vs) for label, vs in _groups(picked, sizes, colours)]
    for label, variants in groups:
        stock = sum(v.stock for v in variants)
        if positive and stock == 0:
            out.append(Claim("wrong_stock", f"{label} is sold out"))
        elif negative and variants and all(v.stock > 0 for v in variants):
            out.append(Claim("wrong_stock", f"{label} is in stock"))
    if positive and len(groups) == 1 and (sizes or len(own_sizes) == 1):
        said = amount_said(text)
        stock = sum(v.stock for v in groups[0][1])
        if said is not None and (claim := _amount_claim(groups[0][0], stock, said)):
            out.append(claim)
    return out, groups if positive else []


def _amount_claim(label: str, stock: int, said: tuple[int, int]) -> Claim | None:
    """A count or impression of stock against the stock there is (0 is "sold out",
    checked apart)."""
    fewest, most = said
    if not stock or fewest <= stock <= most:
        return None
    if said == PLENTY:
        return Claim("wrong_stock", f"{label}: {stock} left, not plenty")
    if said == SCARCE:
        return Claim("wrong_stock", f"{label}: {stock} left, not a few")
    return Claim("wrong_stock", f"{label}: {stock} left, not {fewest}")


def _groups(
    picked: list[VariantInfo], sizes: list[str], colours: list[str]
) -> list[tuple[str, list[VariantInfo]]]:
    """The claim's units: each size in each colour given ("en 40 lo tenemos en azul,
    celeste y negro" says all three), else each size, else each colour."""
    if sizes:
        out_sizes: list[tuple[str, list[VariantInfo]]] = []
        for size in dict.fromkeys(sizes):
            in_size = [v for v in picked if fold(v.size) == size]
            for c in dict.fromkeys(colours) if len(colours) > 1 else [None]:
                vs = [v for v in in_size if c is None or _colour_ok(v, c)]
                tail = f" {c}" if c else (f" {colours[0]}" if colours else "")
                if vs:
                    out_sizes.append((f"size {size.upper()}{tail}", vs))
        return out_sizes
    out: list[tuple[str, list[VariantInfo]]] = []
    for c in dict.fromkeys(colours):
        vs = [v for v in picked if _colour_ok(v, c)]
        if vs:
            out.append((c, vs))
    return out


def _anchors(found: Found, si: int) -> list[tuple[int, ProductInfo]]:
    """Where each product is named in sentence ``si``: its first word there that names no
    other product ("jean" names every jean, "mom" only one)."""
    per: dict[str, set[int]] = {}
    for m in found.products:
        own = set(m.positions) if m.sentence == si else set()
        own |= {w for s, w in m.places if s == si}
        per[m.product.sku] = own
    counts = Counter(p for own in per.values() for p in own)
    out: list[tuple[int, ProductInfo]] = []
    for m in found.products:
        unique = [p for p in per[m.product.sku] if counts[p] == 1]
        if unique:
            out.append((min(unique), m.product))
    return sorted(out, key=lambda pair: pair[0])


def _mail_figures(mail: str) -> set[Decimal]:
    words = (w for s in read_document("", mail).sentences for w in s.words)
    return {
        v.quantize(Decimal("0.01"))
        for w in words
        if w[:1].isdigit() and (v := money_value(w)) is not None
    }


def _readable(reply: str) -> str:
    """Money signs become words, brackets and dashes clause breaks."""
    text = _BREAKS.sub(" , xbrx , ", reply.replace("$", " ars "))
    return re.sub(r":\s", " ; ", text)


@dataclass(slots=True)
class _Walk:
    """Where the reading of a reply has got to: the product and colours in the air."""

    current: ProductInfo | None = None
    colours: list[str] = field(default_factory=list)
    previous: Groups = field(default_factory=list)


@lru_cache(maxsize=1)
def _colour_words() -> frozenset[str]:
    """Every colour word of the packaged lexicon as written ("negra", "off white"): a
    reply's colour is one of these, not a word that only stems like one ("suele")."""
    data = read_yaml_mapping("lexicon.yaml", None, "lexicon")
    colours = data.get("colours") or {}
    return frozenset(fold(w) for forms in colours.values() for w in forms)


def _is_colour_word(text: str) -> bool:
    word = fold(text)
    words = _colour_words()
    return word in words or word.rstrip("s") in words or word.removesuffix("es") in words


def _colours_at(found: Found) -> dict[int, list[tuple[int, str]]]:
    """Colour words per sentence that are not part of a product's name ("estampada")."""
    out: dict[int, list[tuple[int, str]]] = {}
    name_words = {w for m in found.products for w in tokens(m.product.name)}
    for m in found.mentions:
        if m.concept[0] != "colour" or not _is_colour_word(m.text):
            continue
        if fold(m.text) in name_words:
            continue
        out.setdefault(m.sentence, []).append((m.start, m.concept[1]))
    return out


def _read_clause(
    reader: _Reader,
    walk: _Walk,
    clause: Clause,
    *,
    named: list[tuple[int, ProductInfo]],
    colours_here: list[tuple[int, str]],
    candidates: list[ProductInfo],
    sentence: str,
) -> None:
    end = clause.start + len(clause.words)
    inside = [(p, prod) for p, prod in named if clause.start <= p < end]
    if inside:
        walk.previous = []
        if len({prod.sku for _, prod in inside}) > 1:
            return  # two products in one clause: only its prices are checked
        # Its colours: after its name, or right before it ("the black tote bag").
        first = inside[0][0]
        colours = [c for p, c in colours_here if first - 2 <= p < end and p >= clause.start]
        walk.previous = reader.clause(
            clause.words, [inside[0][1]], colours, strict=True, context=sentence
        )
        walk.colours = colours or walk.colours
        return
    colours = [c for p, c in colours_here if clause.start <= p < end]
    if not size_words(clause.words, None) and not colours:
        said = amount_said(" ".join(clause.words))
        if said is not None and len(walk.previous) == 1:
            reader.count(walk.previous[0], said)
        return
    before = [prod for p, prod in named if p < clause.start]
    carried = before[-1] if before else walk.current
    pool = [carried] if carried is not None else []
    pool += [p for p in candidates if p not in pool]
    if pool:
        colours = colours or (walk.colours if carried is not None else [])
        walk.previous = reader.clause(clause.words, pool, colours, strict=False, context=sentence)


def product_claims(reply: str, catalogue: Catalogue, mail: str) -> list[Claim]:
    """Problems with what ``reply`` says of products; [] when every claim holds."""
    doc = read_document("", _readable(reply))
    found = catalogue.find(doc, fuzzy=False)
    mail_found = catalogue.find(read_document("", mail))
    reader = _Reader(catalogue, _mail_figures(mail))
    products = (*(m.product for m in found.products), *(m.product for m in mail_found.products))
    candidates = list({p.sku: p for p in products}.values())
    colours_at = _colours_at(found)
    walk = _Walk()
    for si, sentence in enumerate(doc.sentences):
        named = _anchors(found, si)
        reader.prices(sentence, named, walk.current, candidates)
        walk.previous = []
        for clause in clauses(sentence):
            _read_clause(
                reader,
                walk,
                clause,
                named=named,
                colours_here=colours_at.get(si, []),
                candidates=candidates,
                sentence=" ".join(sentence.words),
            )
        if named:
            if named[-1][1] is not walk.current:
                walk.colours = [c for p, c in colours_at.get(si, []) if p >= named[-1][0]]
            walk.current = named[-1][1]
    if _bare_yes(doc) and not any(size_words(list(t.words), None) for t in doc.sentences):
        _check_the_asked(reader, read_document("", mail), mail_found)
    return reader.claims


_BARE_YES = re.compile(
    r"^(?:si|yes)\b[ ,!]*(?:hay|tenemos|lo tenemos|la tenemos|los tenemos|las tenemos|"
    r"we do|we have it|we have them|it is|it s available|esta disponible|quedan|queda)\b"
)


def _bare_yes(doc: Document) -> bool:
    """The reply answers "yes, we have it" without naming the size or colour again."""
    for sentence in doc.sentences[:3]:
        text = " ".join(w for w in sentence.words if w != ",")
        if _BARE_YES.match(text):
            return True
    return False


def _check_the_asked(reader: _Reader, mail_doc: Document, mail_found: Found) -> None:
    """A bare "sí hay" claims stock for what the mail asked: its one product, with the
    sizes and colours the mail gave."""
    if len(mail_found.products) != 1:
        return
    product = mail_found.products[0].product
    colours = [c for spots in _colours_at(mail_found).values() for _, c in spots]
    words = [w for t in mail_doc.sentences for w in t.words] + ["hay"]
    if size_words(words, product) or colours:
        reader.clause(words, [product], colours, strict=True, context="hay")
