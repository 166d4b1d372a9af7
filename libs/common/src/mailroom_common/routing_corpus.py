"""An operator's routing correction as a line of the labelled routing corpus (pure, no I/O).

The corpus format is bench/data/routing/LABELS.md, read by ``bench/route_eval.py`` and
``python -m mailroom_responder.decision.train``: ``id``, ``from``, ``subject``, ``body``,
``route``, ``intent``, ``products``, ``language``, ``tags`` and optional ``in_reply_to``.
The customer's words come from the email stored with the task (``email_tasks.original``,
the ``InboundEmail`` JSON), the label from the correction:

* ``id`` is the task's message key: unique, the same in every export, and it leads from a
  miss in route_eval's report back to the task in the admin API.
* ``body`` is the customer's new text, then the signature after a ``-- `` line, then the
  quoted history, so the corpus readers split it again the way ingest did.
* ``intent`` is the correction's; without one, the router's when the router chose the same
  route; ``general`` for the LLM route; else empty (route_eval then counts the FAQ topic
  as missed rather than guess it).
* ``products`` are the SKUs the operator named, never the router's matches: the router's
  own output as its label would measure nothing.
* ``language`` is the decision's (``es``/``en``); a task without one gets ``es``.
* ``tags``: ``quoted`` and ``signature`` when the email had them (LABELS.md style tags).

Corrections to a route the corpus does not have (``ignored``) and tasks without a stored
email are skipped, with the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CORPUS_ROUTES",
    "DEFAULT_LANGUAGE",
    "CorrectedTask",
    "Skip",
    "compose_body",
    "corpus_line",
]

# The routes of LABELS.md; the readers refuse or cannot score any other.
CORPUS_ROUTES = ("faq", "catalogue", "llm", "handoff")
LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
LLM_INTENT = "general"


class Skip(enum.StrEnum):
    """Why a corrected task has no corpus line."""

    NOT_A_CORPUS_ROUTE = "route not in the routing corpus"
    NO_EMAIL = "no stored email"


@dataclass(frozen=True, slots=True)
class CorrectedTask:
    """A correction with what the task stored: its email and the router's decision."""

    message_key: str
    route: str
    intent: str | None = None
    product_skus: Sequence[str] = ()
    original: Mapping[str, Any] | None = None
    decision: Mapping[str, Any] | None = None


def compose_body(text: str, signature: str = "", quoted: str = "") -> str:
    """The mail as the customer sent it, near enough: new text, signature, quoted history.

    ``mailroom_common.quotes.customer_parts`` gives the three parts back.
    """
    parts = [text.strip()]
    if signature.strip():
        parts.append(f"-- \n{signature.strip()}")
    if quoted.strip():
        parts.append(quoted.strip())
    return "\n\n".join(p for p in parts if p)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _intent(task: CorrectedTask, decision: Mapping[str, Any]) -> str:
    if task.intent:
        return task.intent
    decided = decision.get("intent")
    if decision.get("route") == task.route and isinstance(decided, str) and decided:
        return decided
    return LLM_INTENT if task.route == "llm" else ""


def corpus_line(task: CorrectedTask) -> dict[str, Any] | Skip:
    """The corpus object for ``task``, or why there is none."""
    if task.route not in CORPUS_ROUTES:
        return Skip.NOT_A_CORPUS_ROUTE
    original = task.original
    if not isinstance(original, Mapping) or original.get("event_type") != "inbound_email":
        return Skip.NO_EMAIL
    decision: Mapping[str, Any] = task.decision if isinstance(task.decision, Mapping) else {}
    language = decision.get("language")
    signature = _text(original.get("signature"))
    quoted = _text(original.get("quoted_text"))
    line: dict[str, Any] = {
        "id": task.message_key,
        "from": _text(original.get("from_address")),
        "subject": _text(original.get("subject")),
        "body": compose_body(_text(original.get("text")), signature, quoted),
        "route": task.route,
        "intent": _intent(task, decision),
        "products": list(dict.fromkeys(task.product_skus)),
        "language": language if language in LANGUAGES else DEFAULT_LANGUAGE,
        "tags": [tag for tag, present in (("quoted", quoted), ("signature", signature)) if present],
    }
    in_reply_to = original.get("in_reply_to")
    if isinstance(in_reply_to, str) and in_reply_to:
        line["in_reply_to"] = in_reply_to
    return line
