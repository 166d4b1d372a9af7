"""Raw RFC 5322 bytes to an :class:`InboundEmail`, screened and keyed. Never raises.

The stdlib parser with the lenient ``compat32`` policy gives the MIME structure; headers
are decoded here (8-bit bytes, RFC 2047 words with wrong or unknown charsets) so one bad
header never loses the mail. A mail that cannot be understood at all becomes a REJECTED
event carrying the reason, so it is recorded and visible instead of dropped.

Pure functions; no I/O.
"""

from __future__ import annotations

import email
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from mailroom_common.events import AttachmentMeta, Disposition, InboundEmail, encode_event
from mailroom_common.quotes import customer_parts
from mailroom_ingest.keys import (
    message_key,
    normalise_message_id,
    parse_message_ids,
    thread_key,
)
from mailroom_ingest.screening import ScreenInput, screen
from mailroom_ingest.text import (
    clean_text,
    decode_bytes,
    html_to_text,
    strip_invisible,
    truncate_utf8,
)

__all__ = ["ParseContext", "fit_to_size", "parse_email"]

PRODUCER = "ingest"
_MAX_SUBJECT = 998  # RFC 5322 line limit; longer subjects are abuse, not content
_MAX_REFERENCES = 50
_MAX_RECIPIENTS = 5000
_FOLD = re.compile(r"\r?\n[ \t]+")
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True, slots=True)
class ParseContext:
    """Where the mail came from and the shop-specific rules to apply."""

    mailbox: str
    folder: str = "INBOX"
    uid: int | None = None
    uidvalidity: int | None = None
    received_at: datetime | None = None
    own_addresses: frozenset[str] = field(default_factory=frozenset)
    own_domain: str | None = None
    max_text_bytes: int = 256 * 1024


# --- headers -------------------------------------------------------------------------


def decode_header_value(raw: str) -> str:
    """Decode one raw header value: unfold, 8-bit bytes, RFC 2047 encoded words."""
    value = _FOLD.sub(" ", raw)
    if _SURROGATE.search(value):
        # The bytes parser keeps undeclared 8-bit bytes as surrogates; get them back
        # and decode them as what they most likely are (usually UTF-8).
        value = decode_bytes(value.encode("utf-8", "surrogateescape"), None)[0]
    if "=?" in value:
        try:
            value = str(make_header(decode_header(value)))
        except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
            value = _decode_words_leniently(value)
    return clean_text(value).replace("\n", " ")


def _decode_words_leniently(value: str) -> str:
    """Encoded words with an unknown or wrong charset: guess per word."""
    try:
        parts = decode_header(value)
    except (ValueError, email.errors.HeaderParseError):
        return value
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset)[0])
        else:
            out.append(chunk)
    return "".join(out)


def _headers(msg: Message) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        result.setdefault(name.strip().lower(), []).append(decode_header_value(str(value)))
    return result


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    pairs = getaddresses(values)
    return [(name, addr.strip()) for name, addr in pairs if "@" in addr][:_MAX_RECIPIENTS]


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- body ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[AttachmentMeta] = field(default_factory=list)
    truncated: bool = False


def _leaves(part: Message) -> Iterator[Message]:
    """Leaf parts, not descending into attached messages (a forwarded mail is one item)."""
    if part.is_multipart() and not part.get_content_type().startswith("message/"):
        payload = part.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    yield from _leaves(sub)
        return
    yield part


def _payload_bytes(part: Message) -> bytes:
    if part.is_multipart():  # an attached message/rfc822
        return part.as_bytes(policy=policy.compat32)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _is_attachment(part: Message, ctype: str) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment" or part.get_filename():
        return True
    return ctype not in ("text/plain", "text/html")


def _filename(part: Message) -> str | None:
    name = part.get_filename()
    return decode_header_value(name) if name else None


def _read_body(msg: Message, max_text_bytes: int) -> _Body:
    body = _Body()
    # Raw text beyond a few times the cap is never kept; cutting early bounds the CPU
    # spent converting or splitting a hostile 50 MB part.
    raw_cap = max_text_bytes * 4
    for part in _leaves(msg):
        ctype = part.get_content_type().lower()
        data = _payload_bytes(part)
        if _is_attachment(part, ctype):
            body.attachments.append(
                AttachmentMeta(filename=_filename(part), content_type=ctype, size=len(data))
            )
            continue
        if len(data) > raw_cap:
            data = data[:raw_cap]
            body.truncated = True
        text, _ = decode_bytes(data, part.get_content_charset())
        (body.plain if ctype == "text/plain" else body.html).append(text)
    return body


# --- size ----------------------------------------------------------------------------


def _budget(parts: list[str], max_bytes: int) -> tuple[list[str], bool]:
    """Keep parts in order of importance within ``max_bytes`` of UTF-8 in total."""
    kept: list[str] = []
    left = max_bytes
    cut = False
    for part in parts:
        piece, was_cut = truncate_utf8(part, max(left, 0))
        kept.append(piece)
        cut = cut or was_cut
        left -= len(piece.encode("utf-8"))
    return kept, cut


def fit_to_size(event: InboundEmail, max_bytes: int) -> InboundEmail:
    """Shrink the texts until the encoded event fits ``max_bytes`` (Kafka's record cap).

    Quoted history goes first, then the signature, then the new text is halved until
    it fits; the event is flagged ``truncated``.
    """
    size = len(encode_event(event))
    if size <= max_bytes:
        return event
    current = event.model_copy(update={"quoted_text": "", "signature": "", "truncated": True})
    text = current.text
    while len(encode_event(current)) > max_bytes and text:
        text, _ = truncate_utf8(text, len(text.encode("utf-8")) // 2)
        current = current.model_copy(update={"text": text})
    if len(encode_event(current)) > max_bytes:
        # Only the recipient lists can still be this big: keep the first few.
        current = current.model_copy(update={"to": current.to[:50], "cc": current.cc[:50]})
    return current


# --- assembling ----------------------------------------------------------------------


def _raw_key(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _rejected(raw: bytes, ctx: ParseContext, reason: str, **known: object) -> InboundEmail:
    key = _raw_key(raw)
    fields: dict[str, object] = {
        "message_key": key,
        "thread_key": key,
        "mailbox": ctx.mailbox,
        "folder": ctx.folder,
        "uid": ctx.uid,
        "uidvalidity": ctx.uidvalidity,
        "size_bytes": len(raw),
        "disposition": Disposition.REJECTED,
        "screen_reason": reason[:500],
        "producer": PRODUCER,
    }
    if ctx.received_at is not None:
        fields["received_at"] = ctx.received_at
    fields.update(known)
    return InboundEmail.model_validate(fields)


def parse_email(raw: bytes, ctx: ParseContext) -> InboundEmail:
    """Parse, screen and key one mail. Never raises: failures become REJECTED events."""
    try:
        return _parse(raw, ctx)
    except Exception as exc:  # any parser bug must not stop the mailbox
        return _rejected(raw, ctx, f"parse_error: {type(exc).__name__}: {exc}")


def _parse(raw: bytes, ctx: ParseContext) -> InboundEmail:
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    headers = _headers(msg)
    if not headers:
        return _rejected(raw, ctx, "unparseable: no headers")

    def first(name: str) -> str | None:
        vals = headers.get(name)
        return vals[0] if vals else None

    from_pairs = _addresses(headers.get("from", []))
    from_name, from_address = from_pairs[0] if from_pairs else ("", "")
    reply_to_pairs = _addresses(headers.get("reply-to", []))
    subject = (first("subject") or "")[:_MAX_SUBJECT]
    message_id_raw = first("message-id")
    message_id = f"<{bare}>" if (bare := normalise_message_id(message_id_raw)) else None
    references = parse_message_ids(" ".join(headers.get("references", [])))
    if len(references) > _MAX_REFERENCES:
        # The root decides the thread; the latest ones matter for threading the reply.
        references = [references[0], *references[-(_MAX_REFERENCES - 1) :]]
    in_reply_to_ids = parse_message_ids(first("in-reply-to"))
    in_reply_to = f"<{in_reply_to_ids[0]}>" if in_reply_to_ids else None

    body = _read_body(msg, ctx.max_text_bytes)
    # text/plain is preferred, unless it has nothing to read (an empty plain alternative
    # next to a real HTML one): then the HTML's visible text is the mail.
    plain_has_text = any(strip_invisible(part).strip() for part in body.plain)
    html_only = not plain_has_text and bool(body.html)
    source = "\n\n".join(map(html_to_text, body.html) if html_only else body.plain)
    parts = customer_parts(source)
    (text, quoted, signature), cut = _budget(
        [parts.text, parts.quoted, parts.signature], ctx.max_text_bytes
    )

    key = message_key(
        message_id_raw,
        from_address=from_address or None,
        date=first("date"),
        subject=subject,
        body=source,
    )
    tkey = thread_key(references, in_reply_to, from_address=from_address or None, subject=subject)
    reason = screen(
        ScreenInput(
            headers=headers,
            content_type=msg.get_content_type(),
            from_address=from_address or None,
            message_id=message_id,
            own_addresses=ctx.own_addresses,
            own_domain=ctx.own_domain,
        )
    )
    disposition = Disposition.IGNORED if reason else Disposition.ANSWERABLE
    if not from_address and not reply_to_pairs:
        disposition, reason = Disposition.REJECTED, "no_sender_address"

    fields: dict[str, object] = {
        "message_key": key,
        "thread_key": tkey,
        "mailbox": ctx.mailbox,
        "folder": ctx.folder,
        "uid": ctx.uid,
        "uidvalidity": ctx.uidvalidity,
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": [f"<{r}>" for r in references],
        "from_address": from_address or None,
        "from_name": from_name or None,
        "reply_to": reply_to_pairs[0][1] if reply_to_pairs else None,
        "to": [a for _, a in _addresses(headers.get("to", []))],
        "cc": [a for _, a in _addresses(headers.get("cc", []))],
        "subject": subject,
        "sent_at": _date(first("date")),
        "text": text,
        "quoted_text": quoted,
        "signature": signature,
        "html_only": html_only,
        "attachments": body.attachments,
        "size_bytes": len(raw),
        "truncated": body.truncated or cut,
        "disposition": disposition,
        "screen_reason": reason,
        "producer": PRODUCER,
    }
    if ctx.received_at is not None:
        fields["received_at"] = ctx.received_at
    return InboundEmail.model_validate(fields)
