"""Build the outgoing ``EmailMessage``: pure functions, no I/O, unit-tested.

What a mail client expects from an automatic reply:

* ``Subject`` with exactly one ``Re:`` (the customer's client may already have stacked
  ``Re: RE: RV:``);
* ``In-Reply-To`` and ``References`` so the reply lands in the customer's thread;
* a ``Message-ID`` on the shop's domain that is the same every time the same task and kind
  is sent: the send ledger and the Sent-folder check find the message by it;
* ``Auto-Submitted`` and ``X-Auto-Response-Suppress`` (RFC 3834 and Exchange's variant),
  so the customer's own auto-responder does not answer us back and start a loop.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

__all__ = [
    "MAX_REFERENCES",
    "Identity",
    "OutgoingMail",
    "build_email",
    "build_references",
    "make_message_id",
    "normalise_subject",
    "reply_subject",
]

# Prefixes clients put in front of a subject: Re (en), RE/Rif/Aw/Sv/Antw (other locales),
# RV/Fwd/Fw/Tr (forwards; Spanish clients write RV). "[2]"-style counters are included.
_PREFIX_RE = re.compile(
    r"^\s*(?:(?:re|rv|res|rif|aw|sv|antw|fwd?|tr|vs)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
MAX_REFERENCES = 20
_MSGID_RE = re.compile(r"<[^<>\s]+>")


class _HeaderClassCache(HeaderRegistry):
    """The stdlib registry creates a new header *class* (``type(...)``) for every header it
    parses -- about 8 µs each, a seventh of rendering a reply on the send path. The class
    depends only on the header name, so it is made once per name."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._classes.clear()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


# email.policy.default with the cache above; what EmailMessage() would use otherwise.
_POLICY = policy.default.clone(header_factory=_HeaderClassCache())


def normalise_subject(subject: str | None) -> str:
    """The subject without any reply/forward prefixes and with collapsed whitespace."""
    text = " ".join((subject or "").split())
    return _PREFIX_RE.sub("", text).strip()


def reply_subject(subject: str | None, *, empty_fallback: str = "Tu consulta") -> str:
    """``Re: <subject>`` with exactly one ``Re:``."""
    return f"Re: {normalise_subject(subject) or empty_fallback}"


def make_message_id(message_key: str, kind: str, domain: str) -> str:
    """Deterministic Message-ID for one (task, kind): same input, same id, every time."""
    digest = hashlib.sha256(f"{message_key}\x00{kind}".encode()).hexdigest()[:32]
    safe_kind = re.sub(r"[^A-Za-z0-9-]", "-", kind)
    return f"<{digest}.{safe_kind}@{domain}>"


def _as_msgid(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    found = _MSGID_RE.search(value)
    if found:
        return found.group(0)
    # A bare id without brackets is still worth threading on.
    return f"<{value}>" if " " not in value else None


def build_references(references: Iterable[str], in_reply_to: str | None) -> list[str]:
    """The parent's References followed by the parent's Message-ID (RFC 5322 3.6.4).

    Duplicates are dropped and the list is trimmed to the root plus the newest ids, so a
    long thread does not grow the header without bound.
    """
    ordered: list[str] = []
    seen: set[str] = set()
    candidates = [*references, *([in_reply_to] if in_reply_to else [])]
    for raw in candidates:
        for part in _MSGID_RE.findall(raw) or [raw]:
            msgid = _as_msgid(part)
            if msgid and msgid not in seen:
                seen.add(msgid)
                ordered.append(msgid)
    if in_reply_to:
        parent = _as_msgid(in_reply_to)
        if parent and ordered and ordered[-1] != parent:
            ordered.remove(parent)
            ordered.append(parent)
    if len(ordered) > MAX_REFERENCES:
        ordered = [ordered[0], *ordered[-(MAX_REFERENCES - 1) :]]
    return ordered


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the shop is on the wire."""

    from_address: str
    display_name: str
    domain: str
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """Everything needed to render one message; built from an event by the caller."""

    message_key: str
    kind: str
    to: str
    subject: str
    body_text: str
    body_html: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = field(default_factory=tuple)
    auto_submitted: str = "auto-replied"
    language: str | None = None


def build_email(mail: OutgoingMail, identity: Identity, *, now: datetime) -> EmailMessage:
    """Render ``mail`` as a MIME message (text, plus an HTML alternative when given)."""
    msg = EmailMessage(policy=_POLICY)
    msg["Message-ID"] = make_message_id(mail.message_key, mail.kind, identity.domain)
    msg["Date"] = format_datetime(now)
    msg["From"] = formataddr((identity.display_name, identity.from_address))
    msg["To"] = str(Address(addr_spec=mail.to.strip()))
    msg["Subject"] = mail.subject
    if identity.reply_to:
        msg["Reply-To"] = identity.reply_to
    parent = _as_msgid(mail.in_reply_to) if mail.in_reply_to else None
    if parent:
        msg["In-Reply-To"] = parent
    refs = build_references(mail.references, mail.in_reply_to)
    if refs:
        msg["References"] = " ".join(refs)
    msg["Auto-Submitted"] = mail.auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    if mail.language:
        msg["Content-Language"] = mail.language
    msg.set_content(mail.body_text, subtype="plain", charset="utf-8")
    if mail.body_html:
        msg.add_alternative(mail.body_html, subtype="html", charset="utf-8")
    return msg
