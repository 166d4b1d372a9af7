"""Message and thread keys: deduplication downstream and per-conversation ordering.

* ``message_key`` is the Message-ID without its angle brackets; a mail without one gets
  ``sha256:<hex>`` of its sender, date, subject and body, so the same mail read twice
  (after a UIDVALIDITY change or a crash before the checkpoint) gets the same key.
* ``thread_key`` is the Kafka record key: the root of References, else In-Reply-To, else
  a hash of the sender and the normalised subject. All mails of one conversation land on
  one partition and stay in order.

Pure functions; no I/O.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "message_key",
    "normalise_message_id",
    "normalise_subject",
    "parse_message_ids",
    "thread_key",
]

_MSGID = re.compile(r"<([^<>\s]+)>")
# Reply/forward prefixes in the languages customers write in, with counters like "Re[2]:".
_PREFIX = re.compile(
    r"^\s*(?:re|fw|fwd|rv|aw|wg|sv|vs|antw|res|enc|tr|r|rif|odp|ynt)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*",
    re.IGNORECASE,
)
_LIST_TAG = re.compile(r"^\s*\[[^\]]{1,40}\]\s*")
_SPACES = re.compile(r"\s+")
# Keys are Kafka record keys and database columns: keep them bounded.
_MAX_KEY_CHARS = 900


def normalise_message_id(value: str | None) -> str | None:
    """``<a@b>`` (or a bare ``a@b``) as ``a@b``; None when nothing usable is left."""
    if not value:
        return None
    match = _MSGID.search(value)
    bare = match.group(1) if match else value.strip().strip("<>").strip()
    if not bare or any(c.isspace() for c in bare):
        return None
    return bare[:_MAX_KEY_CHARS]


def parse_message_ids(value: str | None) -> list[str]:
    """Every ``<id>`` in a References or In-Reply-To header, in order, bare."""
    if not value:
        return []
    found = [m[:_MAX_KEY_CHARS] for m in _MSGID.findall(value)]
    if not found:
        single = normalise_message_id(value)
        return [single] if single else []
    return found


def normalise_subject(subject: str) -> str:
    """Lower-case subject without Re:/Fwd:/RV:/AW: prefixes or a leading [list] tag."""
    text = _SPACES.sub(" ", subject).strip()
    while True:
        stripped = _LIST_TAG.sub("", text, count=1) if text.startswith("[") else text
        stripped = _PREFIX.sub("", stripped, count=1)
        if stripped == text:
            break
        text = stripped
    return text.casefold().strip()


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", errors="surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def message_key(
    message_id: str | None,
    *,
    from_address: str | None,
    date: str | None,
    subject: str,
    body: str,
) -> str:
    bare = normalise_message_id(message_id)
    if bare:
        return bare
    return "sha256:" + _digest(from_address or "", date or "", subject, body)


def thread_key(
    references: list[str],
    in_reply_to: str | None,
    *,
    from_address: str | None,
    subject: str,
) -> str:
    if references:
        return references[0]
    parent = normalise_message_id(in_reply_to)
    if parent:
        return parent
    # Hashed so customer addresses do not appear as Kafka keys.
    who = (from_address or "").strip().lower()
    return "subject:" + _digest(who, normalise_subject(subject))[:32]
