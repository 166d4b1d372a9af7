"""What the answer modes make of one outbound message: pure, no I/O, unit-tested.

Each kind of answer has its mode (``auto`` | ``draft`` | ``off``): FAQ answers, catalogue
answers and LLM answers by the reply's route (a reply without a known route counts as an
LLM answer, the most general one), hand-off acknowledgements by their own. Holding replies
("your answer is coming") follow the LLM mode: they go out only when LLM answers do, since
they announce one. Transactional mail (order confirmations) is no answer and always goes
out, except in shadow mode.

Shadow mode (``MAILROOM_SHADOW``) is over everything: the decision is made and recorded as
it would be, and nothing is sent or filed, transactional mail included (a shop trying
mailroom out next to its current system must not send its customers a second order
confirmation; the ledger records what would have gone out).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mailroom_common.answer_modes import (
    SHADOW_PREFIX,
    SHADOW_WOULD_SEND,
    AnswerMode,
    mode_off_reason,
)

__all__ = ["Action", "AnswerModes", "ModeDecision", "decide", "mode_label"]


class Action(enum.StrEnum):
    SEND = "send"  # through the ledger and SMTP, as always
    DRAFT = "draft"  # filed in the Drafts folder for a person
    HANDOFF = "handoff"  # mode off: nothing sent or filed, a person answers
    SKIP = "skip"  # a holding reply while LLM answers are not automatic
    SHADOW = "shadow"  # shadow mode: recorded as it would be, nothing sent or filed


@dataclass(frozen=True, slots=True)
class AnswerModes:
    faq: AnswerMode = AnswerMode.AUTO
    catalogue: AnswerMode = AnswerMode.AUTO
    llm: AnswerMode = AnswerMode.AUTO
    handoff_ack: AnswerMode = AnswerMode.AUTO
    shadow: bool = False

    @property
    def any_draft(self) -> bool:
        return AnswerMode.DRAFT in (self.faq, self.catalogue, self.llm, self.handoff_ack)


@dataclass(frozen=True, slots=True)
class ModeDecision:
    action: Action
    # What the mode alone would do (differs from ``action`` only in shadow mode).
    would: Action
    # The mode that decided and whose it is ("faq", "catalogue", "llm", "handoff_ack").
    mode: AnswerMode
    label: str
    reason: str


_ROUTE_LABELS = {"faq": "faq", "catalogue": "catalogue", "llm": "llm"}


def mode_label(kind: str, route: str | None) -> str:
    """Whose mode governs a message: a reply's route, ``handoff_ack``, ``llm`` (holding)."""
    if kind == "handoff_ack":
        return "handoff_ack"
    if kind == "holding":
        return "llm"
    if kind == "transactional":
        return "transactional"
    return _ROUTE_LABELS.get(route or "", "llm")


def _mode_of(label: str, modes: AnswerModes) -> AnswerMode:
    return {
        "faq": modes.faq,
        "catalogue": modes.catalogue,
        "llm": modes.llm,
        "handoff_ack": modes.handoff_ack,
    }.get(label, AnswerMode.AUTO)


def _shadowed(would: Action, mode: AnswerMode, label: str, why: str) -> ModeDecision:
    if would is Action.SEND:
        reason = SHADOW_WOULD_SEND
    elif would is Action.DRAFT:
        reason = f"{SHADOW_PREFIX}would draft ({why})"
    else:
        reason = f"{SHADOW_PREFIX}would hand off ({why})"
    return ModeDecision(Action.SHADOW, would, mode, label, reason)


def decide(kind: str, route: str | None, modes: AnswerModes) -> ModeDecision:
    """What to do with one outbound message of ``kind`` on ``route``."""
    label = mode_label(kind, route)
    if kind == "transactional":
        if modes.shadow:
            return _shadowed(Action.SEND, AnswerMode.AUTO, label, "transactional mail")
        return ModeDecision(Action.SEND, Action.SEND, AnswerMode.AUTO, label, "transactional mail")
    mode = _mode_of(label, modes)
    if kind == "holding" and mode is not AnswerMode.AUTO:
        # Skipped in shadow mode too: it would not have gone out either.
        why = f"llm answers are in {mode.value} mode"
        return ModeDecision(Action.SKIP, Action.SKIP, mode, label, why)
    if mode is AnswerMode.OFF:
        would, why = Action.HANDOFF, mode_off_reason(label)
    elif mode is AnswerMode.DRAFT:
        would, why = Action.DRAFT, f"{label} answers are in draft mode"
    else:
        would, why = Action.SEND, f"{label} answers are in auto mode"
    if modes.shadow:
        return _shadowed(would, mode, label, why)
    return ModeDecision(would, would, mode, label, why)
