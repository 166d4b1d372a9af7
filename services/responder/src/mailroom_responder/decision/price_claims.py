"""Whose price is this? The prices a reply states, each against the product it is said of.
Pure; claims.py reads the rest of what a reply says of products.

A figure belongs to the product named nearest before it in the sentence (else the one the
reply was already about); to the product named right after it when none comes before, when
the words between tie them ("los $28.900 corresponden al buzo") or when the name follows
in brackets ("ARS 42,900 (Jean wide leg)"); to every product named after it when the
sentence says so ("both are $27.900: the oxford and the linen shirt"). It may also be a
total of the products named, a difference of two of their prices, or a figure the
customer wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations, pairwise

from mailroom_responder.decision.catalogue import ProductInfo
from mailroom_responder.decision.document import Sentence
from mailroom_responder.decision.reply_words import money_in
from mailroom_responder.decision.text import tokens

__all__ = ["Claim", "differences", "price_claims", "prices_of", "totals"]


@dataclass(frozen=True, slots=True)
class Claim:
    kind: str  # wrong_price | invented_variant | wrong_stock
    detail: str


def prices_of(product: ProductInfo) -> set[Decimal]:
    return {v.price.quantize(Decimal("0.01")) for v in product.variants}


_LINKS = frozenset(
    {"corresponde", "corresponden", "es", "son", "del", "de", "al", "for", "is", "belongs"}
)


def _links(sentence: Sentence, at: int, named: list[tuple[int, ProductInfo]]) -> bool:
    """Words between the figure at ``at`` and the next product name tie it to that
    product ("$28.900 corresponden al buzo", "$28,900 is for the hoodie")."""
    nxt = min(pos for pos, _p in named if pos > at)
    between = sentence.words[at + 1 : nxt]
    return len(between) <= 4 and bool(_LINKS & set(between)) and not {"y", "and"} & set(between)


def _bracketed(sentence: Sentence, at: int, named: list[tuple[int, ProductInfo]]) -> bool:
    """The figure is followed by the product's name in brackets ("ARS 42,900 (Jean wide
    leg)")."""
    nxt, product = min((pair for pair in named if pair[0] > at), key=lambda pair: pair[0])
    skip = {",", "el", "la", "the", *tokens(product.name)}
    between = [w for w in sentence.words[at + 1 : nxt] if w not in skip]
    return between == ["xbrx"]


def totals(products: list[ProductInfo]) -> set[Decimal]:
    """Totals a reply may state: the sum of any two or more of the products' prices, or
    two or three of one ("dos a $X cada uno")."""
    unique = list({p.sku: p for p in products}.values())[:6]
    prices = [min(prices_of(p)) for p in unique if p.variants]
    out: set[Decimal] = set()
    for size in range(2, len(prices) + 1):
        out |= {sum(combo, Decimal(0)) for combo in combinations(prices, size)}
    for p in prices:
        out |= {p * 2, p * 3}
    return out


def _figure(value: Decimal) -> str:
    return format(value.normalize(), "f")


_SHARED = frozenset({"both", "ambos", "ambas", "each", "cada"})


def _shared(sentence: Sentence, at: int) -> bool:
    """The words before the figure say it is every product's ("both are", "ambos salen",
    "los dos cuestan", "each")."""
    before = sentence.words[max(0, at - 4) : at]
    pairs = set(pairwise(before))
    return bool(_SHARED & set(before)) or bool({("los", "dos"), ("las", "dos")} & pairs)


def price_claims(
    sentence: Sentence,
    named: list[tuple[int, ProductInfo]],
    current: ProductInfo | None,
    candidates: list[ProductInfo],
    mail_figures: set[Decimal],
) -> list[Claim]:
    """Every price in ``sentence`` that is not the price of the product it is said of."""
    out: list[Claim] = []
    allowed = totals(candidates) | differences(candidates) | mail_figures
    for wi, amount in money_in(sentence):
        value = amount.quantize(Decimal("0.01"))
        before = [p for pos, p in named if pos < wi]
        after = [p for pos, p in named if pos > wi]
        if value in allowed:
            continue
        if after and not before and _shared(sentence, wi):
            wrong = [p for p in after if value not in prices_of(p)]
            if wrong:
                out.append(_not_its_price(amount, wrong[0]))
            continue
        owner = before[-1] if before else current
        # The product named right after owns it only when none comes before, or the
        # words between say so ("los $28.900 corresponden al buzo"): in "the shorts are
        # 11,900 and the top is 11,900 too" the first figure is the shorts'.
        linked = bool(after) and (
            not before or _links(sentence, wi, named) or _bracketed(sentence, wi, named)
        )
        nxt = after[0] if linked else None
        fits = [p for p in (owner, nxt) if p is not None]
        if any(value in prices_of(p) for p in fits):
            continue
        if not fits:
            if not any(value in prices_of(p) for p in candidates):
                out.append(
                    Claim("wrong_price", f"{_figure(amount)} is no price of a named product")
                )
            continue
        out.append(_not_its_price(amount, fits[0]))
    return out


def _not_its_price(amount: Decimal, who: ProductInfo) -> Claim:
    own = ", ".join(_figure(p) for p in sorted(prices_of(who)))
    return Claim("wrong_price", f"{_figure(amount)} is not the price of {who.name} ({own})")


def differences(products: list[ProductInfo]) -> set[Decimal]:
    """How much more one product costs than another ("la puffer está $10.000 más")."""
    unique = list({p.sku: p for p in products}.values())[:6]
    prices = sorted({min(prices_of(p)) for p in unique if p.variants})
    return {b - a for a, b in combinations(prices, 2)}
