"""Checks on what we are about to send (pure).

* ``plain_text``: markdown stripped, whitespace tidied, cut at a sentence within the limit.
* ``unsupported_figures``: numbers and sizes in the reply that the trusted context does
  not contain (an invented price, stock count, size or discount).
* ``leaks_instructions``: the reply repeats our instructions (6-word shingles).
* ``recipient``: the only address a reply may go to.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

from mailroom_responder.decision.text import fold, strip_invisible, tokens

__all__ = [
    "leaks_instructions",
    "plain_text",
    "recipient",
    "unsupported_figures",
]

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_SIZE_RE = re.compile(r"\b(?:talle|talla|size)\s+(x{0,3}[sml]|x{1,3}l|xx?s|\d{1,3})\b")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((\S+?)\)")
_MD_MARKS = re.compile(r"(\*\*|__|\*|`+|~~)")
_MD_LINE_PREFIX = re.compile(r"^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.MULTILINE)
_SHINGLE = 6
_LEAK_MARKERS = ("<<<email", "email>>>", "<<<history", "system prompt", "instrucciones del sistema")


def plain_text(text: str, max_chars: int) -> str:
    """Markdown-free text no longer than ``max_chars`` (cut at a sentence end)."""
    out = strip_invisible(text)
    out = _MD_LINK.sub(r"\1 (\2)", out)
    out = _MD_LINE_PREFIX.sub("", out)
    out = _MD_MARKS.sub("", out)
    out = "\n".join(" ".join(line.split()) for line in out.splitlines())
    out = re.sub(r"\n{3,}", "\n\n", out).strip()
    if len(out) <= max_chars:
        return out
    cut = out[:max_chars]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind(".\n"))
    return cut[: end + 1] if end > max_chars // 2 else cut.rsplit(" ", 1)[0] + "…"


def _number_forms(raw: str) -> set[str]:
    """ "45.000" → {"45000"}; "45,50" → {"45.5", "4550"}: both decimal conventions."""
    digits = re.sub(r"\D", "", raw)
    forms = {digits.lstrip("0") or "0"}
    for sep in (".", ","):
        if sep in raw:
            head, _, tail = raw.rpartition(sep)
            if len(tail) <= 2:
                whole = re.sub(r"\D", "", head).lstrip("0") or "0"
                frac = tail.rstrip("0")
                forms.add(f"{whole}.{frac}" if frac else whole)
    return forms


def _figures(text: str) -> set[str]:
    found: set[str] = set()
    for match in _NUMBER_RE.finditer(text):
        found |= _number_forms(match.group())
    return found


def unsupported_figures(reply: str, context: str) -> list[str]:
    """Figures in ``reply`` absent from ``context``; an empty list means the reply is safe."""
    allowed = _figures(context)
    bad = [
        m.group() for m in _NUMBER_RE.finditer(reply) if not (_number_forms(m.group()) & allowed)
    ]
    context_sizes = {m.group(1) for m in _SIZE_RE.finditer(fold(context))}
    bad += [
        f"talle {m.group(1)}"
        for m in _SIZE_RE.finditer(fold(reply))
        if m.group(1) not in context_sizes and not m.group(1).isdigit()
    ]
    return bad


def leaks_instructions(reply: str, instructions: str) -> bool:
    folded = fold(reply)
    if any(marker in folded for marker in _LEAK_MARKERS):
        return True
    words = tokens(instructions)
    shingles = {tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}
    said = tokens(reply)
    return any(tuple(said[i : i + _SHINGLE]) in shingles for i in range(len(said) - _SHINGLE + 1))


def recipient(from_address: str | None, reply_to: str | None) -> str | None:
    """From, or Reply-To only when it is in From's own domain. Never anything else.

    A Reply-To elsewhere is how a forged or hijacked message redirects our answer to a
    third party, so it is ignored; the email body is never a source of addresses.
    """
    _, sender = parseaddr(from_address or "")
    if "@" not in sender:
        return None
    _, alt = parseaddr(reply_to or "")
    if "@" in alt and alt.rpartition("@")[2].lower() == sender.rpartition("@")[2].lower():
        return alt
    return sender
