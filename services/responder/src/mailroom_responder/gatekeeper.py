"""The reply gate at the desk: check an LLM answer, and ask once more when it is blocked.

``check`` runs :func:`mailroom_responder.decision.reply_gate.check_reply` on an answer
with what the desk knows of the email (its text, signature and sender name, the
customer's language, the excerpt and instructions the prompt had) and the live
catalogue. ``regenerate`` is the same request with the blocked answer and the reasons
appended, marked so that a second block hands the email to a person (``hand_off``).
"""

from __future__ import annotations

from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.decision.reply_gate import GateRules, Mail, Verdict, check_reply
from mailroom_responder.inbound import handoff
from mailroom_responder.messages import LlmRequest
from mailroom_responder.outcomes import Emission

__all__ = ["check", "hand_off", "regenerate"]

_ASK_AGAIN = {
    "es": (
        "Tu respuesta anterior no se puede enviar por esto: {reasons}. Escribí otra respuesta "
        "al mismo correo, en español, sin esos problemas: solo datos del CATÁLOGO, sin "
        "promesas, sin nombrar a nadie más que al cliente."
    ),
    "en": (
        "Your previous answer cannot be sent because: {reasons}. Write another answer to the "
        "same email, in English, without those problems: only data from the CATALOGUE, no "
        "promises, naming nobody but the customer."
    ),
}


def check(
    reply: str,
    request: LlmRequest,
    *,
    catalogue: Catalogue,
    faq: FaqBook,
    rules: GateRules | None = None,
) -> Verdict:
    email = request.inbound
    mail = Mail(
        subject=email.subject,
        body=f"{email.text}\n{email.signature}",
        language=request.language,
        sender_name=email.from_name or "",
        extra=(email.quoted_text,),
    )
    return check_reply(
        reply,
        mail,
        catalogue=catalogue,
        faq=faq,
        context=request.context,
        instructions=request.instructions,
        rules=rules,
    )


def regenerate(request: LlmRequest, reply: str, verdict: Verdict) -> LlmRequest:
    """The request once more, with the blocked answer and why it was blocked."""
    reasons = "; ".join(verdict.reasons)
    messages = [
        *request.messages,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": _ASK_AGAIN[request.language].format(reasons=reasons)},
    ]
    return request.model_copy(update={"messages": messages, "gate_reasons": list(verdict.reasons)})


def hand_off(request: LlmRequest, verdict: Verdict, *, faq: FaqBook, ack: bool) -> list[Emission]:
    """The second answer was blocked too: a person takes the email, told both reasons."""
    reason = (
        f"reply_blocked: {'; '.join(verdict.reasons)} "
        f"(first answer: {'; '.join(request.gate_reasons)})"
    )
    return handoff(
        request.inbound,
        reason=reason[:500],
        to=request.recipient,
        faq=faq,
        ack=ack,
        intent=request.intent,
    )
