"""Prices written in words, as figures: "treinta y tres mil novecientos" → "33.900",
"thirty-two thousand nine hundred" → "32.900". Pure.

Only a run of number words that holds "mil"/"thousand" is rewritten (a price in this
shop is thousands of pesos); "dos remeras" or "one left" stay as they are, so the stock
reader still reads them as counts.
"""

from __future__ import annotations

import re

from mailroom_responder.decision.text import fold

__all__ = ["spoken_prices"]

_ES = {
    "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13,
    "catorce": 14, "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18,
    "diecinueve": 19, "veinte": 20, "veintiun": 21, "veintiuno": 21, "veintidos": 22,
    "veintitres": 23, "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26,
    "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "treinta": 30, "cuarenta": 40,
    "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90,
    "cien": 100, "ciento": 100, "doscientos": 200, "doscientas": 200, "trescientos": 300,
    "trescientas": 300, "cuatrocientos": 400, "cuatrocientas": 400, "quinientos": 500,
    "quinientas": 500, "seiscientos": 600, "seiscientas": 600, "setecientos": 700,
    "setecientas": 700, "ochocientos": 800, "ochocientas": 800, "novecientos": 900,
    "novecientas": 900,
}  # fmt: skip
_EN = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_VALUES = {**_ES, **_EN}
_JOINERS = frozenset({"y", "and"})
_THOUSAND = frozenset({"mil", "thousand"})
_HUNDRED = frozenset({"hundred"})
_WORD = re.compile(r"[A-Za-zÁÉÍÓÚáéíóúÑñ]+(?:-[A-Za-z]+)?")


def _is_number_word(word: str) -> bool:
    parts = fold(word).split("-")
    return all(p in _VALUES or p in _THOUSAND or p in _HUNDRED for p in parts)


def _value(words: list[str]) -> int | None:
    """The number a run of number words says, or None when it is not one."""
    total, current = 0, 0
    for raw in words:
        for word in fold(raw).split("-"):
            if word in _JOINERS:
                continue
            if word in _HUNDRED:
                current = max(current, 1) * 100
            elif word in _THOUSAND:
                total += max(current, 1) * 1000
                current = 0
            elif word in _VALUES:
                current += _VALUES[word]
            else:
                return None
    return total + current


def spoken_prices(text: str) -> str:
    """``text`` with each spelled-out number of thousands written as a figure."""
    out: list[str] = []
    pos = 0
    words = list(_WORD.finditer(text))
    i = 0
    while i < len(words):
        if not _is_number_word(words[i].group(0)):
            i += 1
            continue
        j = i
        # A run: number words, with "y"/"and" only between two of them.
        while j + 1 < len(words):
            nxt = words[j + 1].group(0)
            gap = text[words[j].end() : words[j + 1].start()]
            if gap.strip(" ") or "\n" in gap:
                break
            if _is_number_word(nxt):
                j += 1
            elif (
                fold(nxt) in _JOINERS
                and j + 2 < len(words)
                and _is_number_word(words[j + 2].group(0))
                and not text[words[j + 1].end() : words[j + 2].start()].strip(" ")
            ):
                j += 2
            else:
                break
        run = [w.group(0) for w in words[i : j + 1]]
        value = _value(run)
        said = [w for w in run if fold(w) not in _JOINERS]
        thousands = any(fold(w) in _THOUSAND for w in said)
        if (
            value is not None and value >= 1000 and thousands and len(said) >= 2
        ):  # not "mil gracias"
            out.append(text[pos : words[i].start()])
            out.append(f"{value:,}".replace(",", "."))
            pos = words[j].end()
        i = j + 1
    out.append(text[pos:])
    return "".join(out)
