"""Turning MIME bytes into clean text: charsets, HTML, invisible characters, caps.

Pure functions; no I/O.
"""

from __future__ import annotations

import codecs

import charset_normalizer
import html2text

from mailroom_common.quotes import clean_text, strip_invisible
from mailroom_ingest.visible import visible_html

__all__ = [
    "clean_text",
    "decode_bytes",
    "html_to_text",
    "strip_invisible",
    "truncate_utf8",
]

# Codecs that say "ASCII or single-byte Western" but are often slapped on UTF-8 text by
# broken mailers.
_SINGLE_BYTE_CODECS = frozenset(
    codecs.lookup(label).name for label in ("ascii", "latin-1", "cp1252", "iso-8859-15")
)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip('"').lower()).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str]:
    """Decode ``data``; return the text and the charset actually used.

    Trust the declared charset when it decodes cleanly, except that a single-byte label
    on bytes that are valid UTF-8 with non-ASCII content means UTF-8 (a frequent
    mislabel: latin-1 would "succeed" and produce mojibake). Otherwise guess with
    charset-normalizer, and as a last resort decode UTF-8 with replacement characters.
    """
    codec = _codec(declared)
    if codec in _SINGLE_BYTE_CODECS:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if not text.isascii():
                return text, "utf-8"
    if codec is not None:
        try:
            return data.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    guessed = _guess(data)
    if guessed is not None:
        return guessed
    return data.decode("utf-8", errors="replace"), "utf-8"


def _guess(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's guess; among equally plausible ones windows-1252 wins.

    Short Western text decodes "cleanly" in a dozen single-byte code pages; the shop's
    customers write Spanish and English, whose most common legacy charset is cp1252.
    """
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    for match in matches:
        if match.chaos <= least + 0.01 and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace"), "cp1252"
    best = matches[0]  # charset-normalizer sorts its results best first
    return str(best), best.encoding


def html_to_text(html: str) -> str:
    """Readable plain text from HTML, links kept as text, no line wrapping.

    Only what a reader of the mail can see is converted: hidden elements and invisible
    text are left out first (:func:`mailroom_ingest.visible.visible_html`).
    """
    converter = html2text.HTML2Text()
    converter.body_width = 0  # keep paragraphs whole; the responder reflows if it wants
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = False
    converter.unicode_snob = True
    converter.protect_links = False
    # html2text marks blockquotes with "> ", which keeps quoted replies detectable.
    return str(converter.handle(visible_html(html)))


def truncate_utf8(text: str, max_bytes: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``max_bytes`` of UTF-8 without splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text, False
    return encoded[:max_bytes].decode("utf-8", errors="ignore"), True
