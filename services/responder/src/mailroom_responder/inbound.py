"""What the responder does with one email from ``mail.inbound`` (pure).

Returns the events to emit, the LLM request to queue (if any) and the customer's turn
for the conversation history; the Faust agent does the I/O. An unsure decision may be
deferred to the classifier, which then calls this again with the decision it settled on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mailroom_common.events import (
    AlertSeverity,
    DecisionRecord,
    Disposition,
    InboundEmail,
    OutboundKind,
    Route,
    TaskStatus,
)
from mailroom_responder import outcomes
from mailroom_responder.decision.answers import catalogue_answer
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.decision.routing import Decision, decide
from mailroom_responder.decision.safety import recipient
from mailroom_responder.decision.text import detect_language, strip_invisible
from mailroom_responder.messages import LlmRequest
from mailroom_responder.outcomes import Emission
from mailroom_responder.prompt import Turn, build_prompt

__all__ = [
    "InboundConfig",
    "InboundResult",
    "handle_inbound",
    "handoff",
    "language_of",
    "route_of",
]


@dataclass(frozen=True, slots=True)
class InboundConfig:
    shop_name: str = "Tienda Mailroom"
    provider: str = "groq"
    handoff_ack: bool = True
    excerpt_max_chars: int = 2000
    max_tokens: int = 150
    # Queued LLM requests get a holding reply after this wait (holding.py); None: none.
    holding_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class InboundResult:
    emissions: list[Emission] = field(default_factory=list)
    request: LlmRequest | None = None
    customer_turn: Turn | None = None
    decision: Decision | None = None
    # The decision is to be put to the classifier; nothing but PROCESSING was emitted.
    deferred: bool = False


def language_of(email: InboundEmail) -> Literal["es", "en"]:
    return "en" if detect_language(f"{email.subject}\n{email.text}") == "en" else "es"


def route_of(email: InboundEmail, faq: FaqBook, catalogue: Catalogue) -> Decision:
    """The router's decision on an email (pure: the classifier's desk runs it again)."""
    return decide(strip_invisible(email.subject), strip_invisible(email.text), faq, catalogue)


def handoff(
    email: InboundEmail,
    *,
    reason: str,
    to: str | None,
    faq: FaqBook,
    ack: bool,
    intent: str | None = "handoff",
    decision: DecisionRecord | None = None,
) -> list[Emission]:
    """A person takes over: status, operator alert, the message flagged in the mailbox (its
    thread owned by a person from now on) and (optionally) a short acknowledgement.

    ``decision``: the router's, when it sent the email to a person; the HANDOFF status
    carries it. A handoff decided later (an unsafe LLM reply) passes none, and the task
    keeps the decision recorded when its route was chosen.
    """
    out = [
        outcomes.status(
            email,
            TaskStatus.HANDOFF,
            reason=reason,
            route=Route.HANDOFF,
            intent=intent,
            decision=decision,
        ),
        outcomes.alert(
            email,
            "handoff",
            f"email needs a person: {reason}",
            severity=AlertSeverity.INFO,
            details={"reason": reason, "subject": email.subject[:200]},
        ),
        # Flagged and left unseen in the mailbox, its thread owned by a person (ingest).
        outcomes.mailbox_action(email, "handoff", reason=reason),
    ]
    if ack and to is not None:
        body = faq.template("handoff_ack", language_of(email))
        out.append(
            outcomes.outbound(
                email,
                OutboundKind.HANDOFF_ACK,
                to=to,
                body=body,
                route=Route.HANDOFF,
                intent=intent,
            )
        )
    return out


def _fixed_reply(
    decision: Decision, *, text: str, catalogue: Catalogue, faq: FaqBook, language: str
) -> tuple[str, str] | None:
    """(reply, reason) when no LLM is needed: the FAQ entry's answer (the facts the mail
    asks about), or the catalogue templates' answer to a price or stock question."""
    if decision.route is Route.FAQ and decision.faq is not None:
        read = decision.document.raw if decision.document is not None else text
        answer = faq.answer(decision.faq, read, language)
        return answer.text, f"faq v{faq.version}: {answer.label}"
    templated = catalogue_answer(decision, catalogue, faq, language)
    return (templated.text, templated.reason) if templated is not None else None


def _nothing_to_read(
    email: InboundEmail, *, to: str, faq: FaqBook, cfg: InboundConfig
) -> list[Emission] | None:
    """A mail with no new text: attachments only go to a person (a photo may show a
    damaged item); nothing at all is recorded as ignored (``no_text``). A subject with
    words in it is still read by the router (None)."""
    if email.attachments:
        return handoff(
            email,
            reason="attachment_only",
            to=to,
            faq=faq,
            ack=cfg.handoff_ack,
            intent="attachment_only",
        )
    if any(ch.isalnum() for ch in strip_invisible(email.subject)):
        return None
    return [
        outcomes.status(
            email,
            TaskStatus.IGNORED,
            reason="no_text",
            route=Route.HANDOFF,
            intent="no_text",
        )
    ]


def handle_inbound(
    email: InboundEmail,
    *,
    history: Sequence[Turn],
    faq: FaqBook,
    catalogue: Catalogue,
    cfg: InboundConfig,
    decision: Decision | None = None,
    defer: Callable[[Decision], bool] | None = None,
) -> InboundResult:
    """Route one email and build its outcome.

    ``decision`` skips the router (the classifier's, or its fallback); ``defer`` may hold
    the router's decision back for the classifier (then only PROCESSING is emitted).
    """
    if email.disposition is not Disposition.ANSWERABLE:
        # The projector records ignored/rejected mail straight from mail.inbound.
        return InboundResult()
    emissions = [outcomes.status(email, TaskStatus.PROCESSING, attempts=email.attempt)]
    to = recipient(email.from_address, email.reply_to)
    body = strip_invisible(email.text)
    turn = Turn("customer", body) if body.strip() else None
    unanswerable: list[Emission] | None
    if to is None:
        unanswerable = handoff(email, reason="no_reply_address", to=None, faq=faq, ack=False)
    else:
        unanswerable = _nothing_to_read(email, to=to, faq=faq, cfg=cfg) if turn is None else None
    if to is None or unanswerable is not None:
        return InboundResult(emissions + (unanswerable or []), customer_turn=turn)
    language = language_of(email)
    text = f"{strip_invisible(email.subject)}\n{body}"
    if decision is None:
        decision = route_of(email, faq, catalogue)
        if defer is not None and defer(decision):
            return InboundResult(emissions, customer_turn=turn, decision=decision, deferred=True)
    # The status emitted once the route is decided carries the decision: HANDOFF, REPLIED
    # (FAQ), or PROCESSING for the LLM and catalogue routes.
    record = outcomes.decision_record(decision, language=language)
    if decision.route is Route.HANDOFF:
        emissions += handoff(
            email,
            reason=decision.intent,
            to=to,
            faq=faq,
            ack=cfg.handoff_ack,
            decision=record,
        )
        return InboundResult(emissions, customer_turn=turn, decision=decision)
    fixed = _fixed_reply(decision, text=text, catalogue=catalogue, faq=faq, language=language)
    if fixed is not None:  # the FAQ answer, or a catalogue answer from live figures
        body_text, why = fixed
        emissions += [
            outcomes.outbound(
                email,
                OutboundKind.REPLY,
                to=to,
                body=body_text,
                route=decision.route,
                intent=decision.intent,
            ),
            outcomes.status(
                email,
                TaskStatus.REPLIED,
                attempts=email.attempt,
                route=decision.route,
                intent=decision.intent,
                reply_text=body_text,
                reason=why,
                decision=record,
            ),
        ]
        return InboundResult(emissions, customer_turn=turn, decision=decision)
    # The desk reports what happens next; until then PROCESSING carries the decision.
    emissions = outcomes.with_decision(emissions, record)
    excerpt = (
        catalogue.excerpt_for(decision.document, decision.found, cfg.excerpt_max_chars)
        if decision.document is not None
        else catalogue.excerpt(text, cfg.excerpt_max_chars)
    )
    prompt = build_prompt(
        shop_name=cfg.shop_name,
        language=language,
        subject=email.subject,
        body=body,
        excerpt=excerpt,
        history=history,
    )
    chars = sum(len(m["content"]) for m in prompt.messages)
    request = LlmRequest(
        request_id=outcomes.stable_id(email, "llm_request"),
        provider=cfg.provider,
        inbound=email,
        recipient=to,
        language=language,
        route=decision.route,
        intent=decision.intent,
        messages=prompt.messages,
        instructions=prompt.instructions,
        context=prompt.context,
        estimated_tokens=math.ceil(chars / 4) + cfg.max_tokens,
        attempt=email.attempt,
    )
    return InboundResult(emissions, request=request, customer_turn=turn, decision=decision)
