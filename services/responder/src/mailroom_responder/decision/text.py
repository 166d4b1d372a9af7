"""Text helpers shared by routing, retrieval and safety: pure functions, no I/O."""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "detect_language",
    "fold",
    "strip_invisible",
    "tidy_paragraphs",
    "tokens",
]

# Zero-width and bidi-control characters hide instructions from a human reader while
# the model still sees them; tags (U+E0000 block) can smuggle whole ASCII texts.
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
_TOKEN_RE = re.compile(r"[a-z0-9ñ]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")

_ES_HINTS = frozenset(
    [
        "hola",
        "gracias",
        "quiero",
        "quisiera",
        "precio",
        "cuanto",
        "cuesta",
        "tienen",
        "tiene",
        "envio",
        "envios",
        "pedido",
        "buenos",
        "buenas",
        "dias",
        "tardes",
        "el",
        "la",
        "los",
        "las",
        "del",
        "que",
        "es",
        "una",
        "unos",
        "unas",
        "para",
        "con",
        "mi",
        "mis",
        "saludos",
        "necesito",
        "puedo",
        "pueden",
        "cuando",
        "donde",
        "tambien",
        "hay",
        "talle",
        "talles",
        "remera",
        "pantalon",
        "como",
        "se",
        "por",
        "favor",
        "stock",
        "cambio",
        "devolucion",
        "pago",
        "cuotas",
    ]
)
_EN_HINTS = frozenset(
    [
        "the",
        "and",
        "is",
        "are",
        "you",
        "your",
        "hello",
        "hi",
        "thanks",
        "thank",
        "please",
        "price",
        "how",
        "much",
        "what",
        "when",
        "where",
        "do",
        "does",
        "have",
        "has",
        "order",
        "shipping",
        "want",
        "would",
        "like",
        "can",
        "could",
        "i",
        "my",
        "of",
        "to",
        "for",
        "with",
        "it",
        "this",
        "that",
        "in",
        "dear",
        "regards",
        "available",
        "need",
        "buy",
        "size",
        "return",
        "exchange",
        "payment",
    ]
)


def strip_invisible(text: str) -> str:
    """Remove invisible/format characters and normalise to NFC."""
    if text.isascii():
        return text  # no invisible code points below U+0080; the common case, kept fast
    cleaned = _INVISIBLE_RE.sub("", unicodedata.normalize("NFC", text))
    # Any other "format" (Cf) code point is invisible too.
    return "".join(ch for ch in cleaned if unicodedata.category(ch) != "Cf")


def fold(text: str) -> str:
    """Lower-case and drop accents (keeping ñ), for matching only."""
    if text.isascii():
        return text.lower()
    lowered = strip_invisible(text).lower().replace("ñ", "\x00")
    decomposed = unicodedata.normalize("NFKD", lowered)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.replace("\x00", "ñ")


def tidy_paragraphs(text: str) -> str:
    """Whitespace tidied, the writer's line breaks kept: spaces collapsed within each line,
    two or more blank lines as one paragraph break, none at the ends."""
    lines = "\n".join(" ".join(line.split()) for line in text.splitlines())
    return _BLANK_LINES_RE.sub("\n\n", lines).strip()


def tokens(text: str) -> list[str]:
    """Word tokens of the folded text (letters and digits)."""
    return _TOKEN_RE.findall(fold(text))


def language_scores(text: str) -> tuple[int, int]:
    """(Spanish, English) evidence in ``text``: hint words, and ¿ ¡ ñ for Spanish."""
    words = tokens(text)
    es = sum(1 for w in words if w in _ES_HINTS) + 2 * sum(1 for ch in text if ch in "¿¡ñ")
    return es, sum(1 for w in words if w in _EN_HINTS)


def detect_language(text: str) -> str:
    """``"es"`` or ``"en"``: the shop's customers write Spanish unless clearly English."""
    es, en = language_scores(text)
    return "en" if en > es else "es"
