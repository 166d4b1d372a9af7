"""Reading a reply's words for claims: money, sizes, counts, clauses. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mailroom_responder.decision.catalogue import ProductInfo
from mailroom_responder.decision.document import Sentence
from mailroom_responder.decision.lexicon import default_lexicon
from mailroom_responder.decision.text import fold

__all__ = [
    "Clause",
    "amount_said",
    "clauses",
    "count_in",
    "money_in",
    "money_value",
    "size_words",
    "sizes_of",
    "spoken_thousands",
]

_SIZE_LETTERS = frozenset({"xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl"})
_NUMBER_LEAD = frozenset({"el", "en", "in"})
_UNITS = frozenset(
    {"horas", "hours", "hs", "dias", "days", "minutos", "minutes", "semanas", "weeks"}
    | {"cm", "kg", "km", "anos", "years", "meses", "months", "cuotas", "pesos", "ars"}
)
_SIZE_LEAD = frozenset({"talle", "talla", "talles", "tallas", "size", "sizes", "numero", "nro"})
_MONEY_BEFORE = frozenset({"ars", "usd", "eur", "us"})
_MONEY_AFTER = frozenset({"pesos", "ars"})
_THOUSANDS = re.compile(r"^\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?$")
_CLAUSE_BREAK = frozenset(
    {",", "pero", "but", "aunque", "though", "although", "mientras", "asi", "para", "so"}
    | {"because", "porque", "since", "while", "sino", "y", "and"}
)
_COUNT_WORDS = {
    "un": 1,
    "una": 1,
    "uno": 1,
    "one": 1,
    "dos": 2,
    "two": 2,
    "tres": 3,
    "three": 3,
    "cuatro": 4,
    "four": 4,
    "cinco": 5,
    "five": 5,
}
_COUNT_NEAR = re.compile(
    r"\b(?:queda|quedan|nos queda|nos quedan|tenemos|only|just|solo)\s+(?:solo\s+)?"
    r"(\d+|un|una|uno|dos|tres|cuatro|cinco|one|two|three|four|five)\b"
    r"(?!\s+(?:monton|poco|poquito|par|lote|lot|bunch|few|couple)\b)"
    r"|\b(\d+|one|two|three|four|five|a couple)\s+(?:left|pairs? left|units? left)\b"
    r"|\b(?:la ultima|el ultimo|the last one|una sola|uno solo|un solo par|"
    r"one left|only one|una sola unidad)\b"
)


_SPOKEN_THOUSANDS = re.compile(
    r"\b(\d{1,3})(?:[.,](\d{1,3}))?\s?(k|mil|lucas?|luquitas)\b", re.IGNORECASE
)


def spoken_thousands(text: str) -> str:
    """Thousands as people write them, as figures: "$32.9k" → "$32.900", "31,9 mil" →
    "31.900", "15 lucas" → "15.000" (so a price check reads the price that is meant)."""

    def figure(m: re.Match[str]) -> str:
        value = int(m.group(1)) * 1000 + int((m.group(2) or "0").ljust(3, "0"))
        return f"{value:,}".replace(",", ".")

    return _SPOKEN_THOUSANDS.sub(figure, text)


@dataclass(slots=True)
class Clause:
    words: list[str]
    start: int  # index of its first word in the sentence


def money_value(word: str) -> Decimal | None:
    digits = word.lstrip("#")
    if not digits[:1].isdigit():
        return None
    head, sep, tail = digits.replace(",", ".").rpartition(".")
    try:
        if sep and len(tail) <= 2 and head:  # "11.900,00" / "45.50": decimals
            return Decimal(head.replace(".", "") + "." + tail)
        return Decimal(digits.replace(".", "").replace(",", ""))
    except InvalidOperation:
        return None


def money_in(sentence: Sentence) -> list[tuple[int, Decimal]]:
    """(word index, amount) of every figure the sentence states as money."""
    words = sentence.words
    out: list[tuple[int, Decimal]] = []
    for i, w in enumerate(words):
        if not w[:1].isdigit():
            continue
        before = words[i - 1] if i else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        if before in _MONEY_BEFORE or after in _MONEY_AFTER or _THOUSANDS.match(w):
            value = money_value(w)
            if value is not None and value >= 100:
                out.append((i, value))
    return out


def sizes_of(product: ProductInfo) -> set[str]:
    return {fold(v.size) for v in product.variants}


def size_words(words: list[str], product: ProductInfo | None) -> list[str]:
    """Sizes a clause names: letter sizes (a bare "s"/"m" only after talle/size/en/in or
    in a list of sizes), numbers after talle/en el/in, or numbers the product is made in."""
    own = sizes_of(product) if product else set()
    out: list[str] = []
    for i, w in enumerate(words):
        before = words[i - 1] if i else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        led = before in _SIZE_LEAD or before in (
            "en",
            "in",
            "el",
            "del",
            "y",
            "and",
            "o",
            "or",
            ",",
        )
        if w in _SIZE_LETTERS:
            listed = after in (",", "y", "and", "o", "or") or before in (",", "y", "and")
            if w in ("s", "m", "l") and not (led or listed or before in _SIZE_LEAD):
                continue
            if w == "m" and before.replace(",", "").isdigit():
                continue  # "1,70 m"
            out.append(w)
        elif (w == "unico" and before in _SIZE_LEAD) or (
            w.isdigit()
            and len(w) == 2
            and after not in _UNITS  # "en 48 horas"
            and (
                w in own or before in _SIZE_LEAD or (before in _NUMBER_LEAD and 30 <= int(w) <= 50)
            )
        ):
            out.append(w)
    return out


# Stock said as an impression, not a count: a few (1–3) or plenty (5 or more).
_SCARCE = re.compile(
    r"\b(?:queda poco|queda poquito|quedan poc[oa]s|pocas unidades|poquit[oa]s?|"
    r"casi no (?:queda|quedan|hay)|se (?:esta|estan) (?:terminando|agotando|acabando)|"
    r"vuela|vuelan|ultimas unidades|running low|low stock|only a few|just a few|a few left|"
    r"last few|few left|selling fast|going fast|limited stock|almost gone|nearly gone|"
    r"almost sold out|casi agotad\w*)\b"
)
_PLENTY = re.compile(
    r"\b(?:de sobra|sobrad[oa]s|un monton|montones|muchisim\w*|hay para elegir|"
    r"hay para tirar|bastante stock|mucho stock|plenty|lots of|loads of|tons of|well stocked|"
    r"no shortage|amplio stock|a good amount|a good number|hay varios|hay varias)\b"
)
SCARCE = (1, 4)
PLENTY = (5, 10**9)


def amount_said(text: str) -> tuple[int, int] | None:
    """The stock a clause claims, as (fewest, most): a count ("quedan 2"), a few ("queda
    poquito", "running low": 1–3) or plenty ("hay de sobra", "plenty": 5 or more)."""
    count = count_in(text)
    if count is not None:
        return (count, count) if count != 2 else (2, 3)  # "a couple" / "un par" is loose
    if _SCARCE.search(text):
        return SCARCE
    if _PLENTY.search(text):
        return PLENTY
    return None


def count_in(text: str) -> int | None:
    m = _COUNT_NEAR.search(text)
    if m is None:
        return None
    word = m.group(1) or m.group(2)
    if word is None:
        return 1
    if word == "a couple":
        return 2
    return int(word) if word.isdigit() else _COUNT_WORDS.get(word)


def _is_list_item(word: str) -> bool:
    return (
        word in _SIZE_LETTERS
        or word.isdigit()
        or any(c[0] == "colour" for c in default_lexicon().concepts_of(word))
    )


def clauses(sentence: Sentence) -> list[Clause]:
    """Clauses at commas and conjunctions, but a list ("S, M y L", "negro y azul") stays
    in one."""
    words = sentence.words
    out: list[Clause] = [Clause([], 0)]
    for i, w in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        listed = w in (",", "y", "and", "o", "or") and _is_list_item(after)
        if w == "xbrx":  # a bracket (claims._readable)
            out.append(Clause([], i + 1))
            continue
        if w in _CLAUSE_BREAK and out[-1].words and not listed:
            out.append(Clause([], i + (w == ",")))
            if w == ",":
                continue
        out[-1].words.append(w)
    return [c for c in out if c.words]
