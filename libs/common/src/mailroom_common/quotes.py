"""Separate a customer's new text from quoted earlier messages and signatures.

Shared by ingest (on every mail it publishes) and the responder's offline `explain`
command, so both split a mail the same way.

Heuristics in the spirit of what helpdesks do, in English and Spanish (the shop's
languages) plus the common French/German/Portuguese attribution lines:

* an attribution line ("On <date>, <who> wrote:", "El <fecha>, <quien> escribió:"),
  possibly wrapped over two lines by the mail client, starts the quoted part;
* so do Outlook's "-----Original Message-----" / "-----Mensaje original-----" markers and
  its header block ("From:/De:" followed by "Sent:/Enviado:", "To:/Para:",
  "Subject:/Asunto:" lines), optionally after a line of underscores;
* lines starting with ">" are quoted wherever they appear (interleaved replies keep the
  customer's answers between them as new text);
* a "-- " line starts the signature, as do mobile footers ("Sent from my iPhone",
  "Enviado desde mi ...") near the end.

Pure functions; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["ReplyParts", "clean_text", "customer_parts", "split_reply", "strip_invisible"]

# Characters a reader cannot see, which hide prompt injection and break keyword matching
# downstream:
# * every format character (Unicode category Cf: soft hyphen, zero-width space/joiners,
#   bidi embeddings/overrides/isolates, word joiner, invisible operators, BOM, Arabic and
#   Syriac number signs, interlinear annotation, Egyptian hieroglyph, shorthand and musical
#   format controls, the language tag);
# * the whole tag block U+E0000-U+E007F (tag characters spell out ASCII invisibly);
# * variation selectors (U+FE00-FE0F, U+E0100-E01EF, Mongolian U+180B-180D, U+180F): they
#   only pick a glyph variant of the previous character, and in long runs carry hidden
#   bytes; the base character stays;
# * the combining grapheme joiner U+034F, the Khmer inherent vowels U+17B4-17B5 and the
#   Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), invisible by design.
# The zero-width joiner U+200D is handled apart (see ``_ZWJ``).
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160"
    "\u17b4\u17b5\u180b-\u180f\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
# The zero-width joiner glues emoji into one ("👩\u200d💻", a family): kept between two
# symbols (category So, or a skin-tone modifier), removed everywhere else.
_ZWJ = re.compile("\u200d")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"on\b.{0,200}\bwrote\s*:"  # English
    r"|el\b.{0,200}\bescribi[óo]\s*:"  # Spanish
    r"|le\b.{0,200}\ba\s+[ée]crit\s*:"  # French
    r"|am\b.{0,200}\bschrieb.{0,80}:"  # German
    r"|em\b.{0,200}\bescreveu\s*:"  # Portuguese
    r")\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MARKER = re.compile(
    r"^\s*-{2,}\s*(?:original message|mensaje original|message d'origine|"
    r"urspr[üu]ngliche nachricht|forwarded message|mensaje reenviado)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|de|von)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(?:sent|date|to|subject|cc|enviado(?: el)?|fecha|para|asunto|gesendet|an|betreff)"
    r"\s*:",
    re.IGNORECASE,
)
_SIG_DASHES = re.compile(r"^--\s?$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:sent from my\b|sent from (?:outlook|mail|yahoo)|get outlook for\b|"
    r"enviado desde mi\b|enviado desde (?:outlook|correo|yahoo)|obtener outlook para\b|"
    r"envoy[ée] de mon\b|von meinem\b.*gesendet)",
    re.IGNORECASE,
)
# A mobile footer further up than this is probably quoted text or part of a sentence.
_FOOTER_WINDOW = 4


@dataclass(frozen=True, slots=True)
class ReplyParts:
    text: str
    quoted: str
    signature: str


def _is_outlook_block(lines: list[str], i: int) -> bool:
    """``From:`` (or ``De:``) followed shortly by at least two other header lines."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [ln for ln in lines[i + 1 : i + 6] if ln.strip()]
    return sum(1 for ln in following[:4] if _HEADER_OTHER.match(ln)) >= 2


def _is_attribution(line: str) -> bool:
    # Real attribution lines carry a date or an address; "El lunes mi hermana me
    # escribió:" in a customer's own sentence has neither.
    return bool(_ATTRIBUTION.match(line)) and bool(re.search(r"\d|@", line))


def _quote_start(lines: list[str]) -> int | None:
    """Index of the first line of a quoted-history block, or None."""
    for i, line in enumerate(lines):
        if _is_attribution(line) or _ORIGINAL_MARKER.match(line):
            return i
        # Gmail and Outlook wrap long attribution lines: "On ..., <a@b>\nwrote:".
        if (
            i + 1 < len(lines)
            and not _is_attribution(lines[i + 1])
            and _is_attribution(f"{line.rstrip()} {lines[i + 1].strip()}")
        ):
            return i
        if _UNDERSCORES.match(line) and i + 1 < len(lines) and _is_outlook_block(lines, i + 1):
            return i
        if _is_outlook_block(lines, i):
            return i
    return None


def _signature_start(lines: list[str]) -> int | None:
    for i in range(len(lines) - 1, -1, -1):
        if _SIG_DASHES.match(lines[i]):
            return i
    content = [i for i, ln in enumerate(lines) if ln.strip()]
    for i in content[-_FOOTER_WINDOW:]:
        if _MOBILE_FOOTER.match(lines[i]):
            return i
    return None


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").strip()


def split_reply(text: str) -> ReplyParts:
    """Split cleaned text (``\\n`` newlines) into new text, quoted history and signature."""
    lines = text.split("\n")
    start = _quote_start(lines)
    head, history = (lines, []) if start is None else (lines[:start], lines[start:])
    new: list[str] = []
    quoted: list[str] = []
    for line in head:
        (quoted if line.lstrip().startswith(">") else new).append(line)
    sig_at = _signature_start(new)
    signature: list[str] = []
    if sig_at is not None:
        new, signature = new[:sig_at], new[sig_at:]
        if _SIG_DASHES.match(signature[0]):
            signature = signature[1:]
    quoted.extend(history)
    body = _join(new)
    if not body and sig_at is not None and start is None and not quoted:
        # A mail that is only "-- \nname" keeps its text: better shown than lost.
        return ReplyParts(text=_join(signature), quoted="", signature="")
    return ReplyParts(text=body, quoted=_join(quoted), signature=_join(signature))


def _is_symbol(char: str) -> bool:
    return unicodedata.category(char) == "So" or "\U0001f3fb" <= char <= "\U0001f3ff"


def _joiner(match: re.Match[str]) -> str:
    text, at = match.string, match.start()
    glued = 0 < at < len(text) - 1 and _is_symbol(text[at - 1]) and _is_symbol(text[at + 1])
    return match.group() if glued else ""


def strip_invisible(text: str) -> str:
    """Remove what a reader cannot see: format characters (Cf: zero-width, bidi controls,
    soft hyphen, BOM...), tag characters, variation selectors and stray C0 controls.

    Letters, accents, punctuation and emoji are untouched; a zero-width joiner survives
    only inside an emoji sequence.
    """
    text = _CONTROL.sub("", _INVISIBLE.sub("", text))
    return _ZWJ.sub(_joiner, text) if "\u200d" in text else text


def clean_text(text: str) -> str:
    """Normalise newlines, Unicode form and invisible characters; trim trailing blanks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", strip_invisible(text))
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def customer_parts(raw: str) -> ReplyParts:
    """What ingest stores of a plain-text body: cleaned, then split into new text, quote and
    signature."""
    return split_reply(clean_text(raw))
