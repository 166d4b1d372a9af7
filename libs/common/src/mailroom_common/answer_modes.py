"""Answer modes: whether the sender sends, drafts or leaves each kind of answer to a person.

The sender decides (``SENDER_MODE_FAQ``, ``SENDER_MODE_CATALOGUE``, ``SENDER_MODE_LLM``,
``SENDER_MODE_HANDOFF_ACK``, and ``MAILROOM_SHADOW`` over all of them); the admin API reads
what it recorded. The reason texts below are the contract between the two: the sender
writes them on the task's status changes, the admin API's figures recognise them.
"""

from __future__ import annotations

import enum

__all__ = [
    "SENT_BY_PERSON",
    "SHADOW_PREFIX",
    "SHADOW_WOULD_SEND",
    "AnswerMode",
    "mode_off_reason",
]


class AnswerMode(enum.StrEnum):
    AUTO = "auto"  # sent as soon as it is decided
    DRAFT = "draft"  # filed in the mailbox's Drafts folder; a person sends or approves it
    OFF = "off"  # nothing is sent or filed: the task is handed to a person


# Every shadowed task's reason starts with this; "would send" marks an answer that would
# have gone out with no person involved (the would-be automation rate counts those).
SHADOW_PREFIX = "shadow: "
SHADOW_WOULD_SEND = "shadow: would send"
SENT_BY_PERSON = "sent by a person from the mailbox"


def mode_off_reason(route: str) -> str:
    """The hand-off reason of an answer whose mode is ``off``."""
    return f"answer mode off for {route}: a person answers"
