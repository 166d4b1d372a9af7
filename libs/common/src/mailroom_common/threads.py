"""The ids that name an email's conversation (pure).

A thread is known by every Message-ID in it: the email's own, the ones it answers
(In-Reply-To, References) and ingest's thread key. Whoever owns a thread is looked up by
any of them, so a reply that quotes only part of the chain still finds its owner.
"""

from __future__ import annotations

from mailroom_common.events import InboundEmail

__all__ = ["MAX_THREAD_ID", "thread_ids"]

# Message-IDs are at most 998 characters (RFC 5322 line length); longer ones are noise.
MAX_THREAD_ID = 998


def thread_ids(email: InboundEmail) -> list[str]:
    """The email's thread ids, without repeats, in a stable order (own id first)."""
    candidates = [
        email.message_id,
        email.message_key,
        email.thread_key,
        email.in_reply_to,
        *email.references,
    ]
    seen: dict[str, None] = {}
    for raw in candidates:
        value = (raw or "").strip()
        if value and len(value) <= MAX_THREAD_ID:
            seen.setdefault(value, None)
    return list(seen)
