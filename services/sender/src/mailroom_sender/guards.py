"""Loop guards: decide whether an automatic message may go out. Pure.

Two auto-responders answering each other can exchange thousands of mails. Mailroom marks
its own mail ``Auto-Submitted`` (well-behaved responders then stay quiet), and on top of
that caps automatic replies per recipient and per thread in a window, and never writes to
a suppressed address (hard bounces, operator blocks) or to the shop's own mailboxes. A
holding reply ("the answer is coming") counts towards the caps like any other, and goes
out only while the caps leave room for the answer it announces.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AUTO_KINDS", "GuardInput", "GuardLimits", "guard_reason"]

# Kinds that answer a customer's mail automatically; transactional mail is requested
# by another system and is only subject to the suppression list.
AUTO_KINDS = frozenset({"reply", "holding", "handoff_ack"})


@dataclass(frozen=True, slots=True)
class GuardLimits:
    per_recipient: int
    per_thread: int
    window_s: int


@dataclass(frozen=True, slots=True)
class GuardInput:
    kind: str
    recipient: str
    own_addresses: frozenset[str]
    suppressed_reason: str | None
    recent_to_recipient: int
    recent_in_thread: int


def guard_reason(facts: GuardInput, limits: GuardLimits) -> str | None:
    """Why this message must not be sent, or None if it may go."""
    recipient = facts.recipient.strip().lower()
    if facts.suppressed_reason is not None:
        return f"suppressed: {facts.suppressed_reason}"
    if recipient in facts.own_addresses:
        return "recipient is one of the shop's own addresses"
    if facts.kind not in AUTO_KINDS:
        return None
    hours = limits.window_s / 3600
    # A holding reply promises an answer: it goes out only with room left for that answer.
    room = 1 if facts.kind == "holding" else 0
    if facts.recent_to_recipient + room >= limits.per_recipient:
        return (
            f"recipient cap: {facts.recent_to_recipient} automatic replies in {hours:g} h "
            f"(limit {limits.per_recipient})"
        )
    if facts.recent_in_thread + room >= limits.per_thread:
        return (
            f"thread cap: {facts.recent_in_thread} automatic replies in {hours:g} h "
            f"(limit {limits.per_thread})"
        )
    return None
