"""The answer modes' decision (pure) and the events the sender reports for it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailroom_common.answer_modes import SHADOW_WOULD_SEND, AnswerMode
from mailroom_common.events import OutboundEmail, OutboundKind, Route, TaskStatus
from mailroom_sender.modes import Action, AnswerModes, decide, mode_label
from mailroom_sender.outcomes import (
    DRAFTS_PRODUCER,
    MODES_PRODUCER,
    PRODUCER,
    decision_status,
    kept_status,
)

AUTO, DRAFT, OFF = AnswerMode.AUTO, AnswerMode.DRAFT, AnswerMode.OFF


@pytest.mark.parametrize(
    ("kind", "route", "label"),
    [
        ("reply", "faq", "faq"),
        ("reply", "catalogue", "catalogue"),
        ("reply", "llm", "llm"),
        ("reply", None, "llm"),  # no route: the most general answer
        ("reply", "handoff", "llm"),
        ("holding", "catalogue", "llm"),  # a holding reply announces an LLM answer
        ("handoff_ack", "handoff", "handoff_ack"),
        ("transactional", None, "transactional"),
    ],
)
def test_whose_mode_governs_a_message(kind: str, route: str | None, label: str) -> None:
    assert mode_label(kind, route) == label


def test_defaults_send_everything() -> None:
    modes = AnswerModes()
    for kind, route in [("reply", "faq"), ("reply", "llm"), ("holding", "llm")]:
        assert decide(kind, route, modes).action is Action.SEND
    assert decide("handoff_ack", "handoff", modes).action is Action.SEND
    assert decide("transactional", None, modes).action is Action.SEND
    assert not modes.any_draft


def test_each_route_has_its_own_mode() -> None:
    modes = AnswerModes(faq=DRAFT, catalogue=OFF, llm=AUTO, handoff_ack=DRAFT)
    assert modes.any_draft
    faq = decide("reply", "faq", modes)
    assert (faq.action, faq.mode, faq.reason) == (
        Action.DRAFT,
        DRAFT,
        "faq answers are in draft mode",
    )
    cat = decide("reply", "catalogue", modes)
    assert cat.action is Action.HANDOFF
    assert cat.reason == "answer mode off for catalogue: a person answers"
    assert decide("reply", "llm", modes).action is Action.SEND
    assert decide("handoff_ack", "handoff", modes).action is Action.DRAFT


@pytest.mark.parametrize("llm", [DRAFT, OFF])
def test_holding_replies_only_when_llm_answers_are_automatic(llm: AnswerMode) -> None:
    modes = AnswerModes(llm=llm)
    held = decide("holding", "llm", modes)
    assert held.action is Action.SKIP
    assert held.reason == f"llm answers are in {llm.value} mode"
    # A holding reply on the catalogue route follows the LLM mode too.
    assert decide("holding", "catalogue", AnswerModes(llm=llm, catalogue=AUTO)).action is (
        Action.SKIP
    )
    # Shadow mode does not turn a skip into a "would send".
    assert decide("holding", "llm", AnswerModes(llm=llm, shadow=True)).action is Action.SKIP
    assert decide("holding", "llm", AnswerModes(faq=OFF)).action is Action.SEND


@pytest.mark.parametrize("mode", [AUTO, DRAFT, OFF])
def test_transactional_mail_ignores_the_modes(mode: AnswerMode) -> None:
    modes = AnswerModes(faq=mode, catalogue=mode, llm=mode, handoff_ack=mode)
    assert decide("transactional", None, modes).action is Action.SEND


def test_shadow_records_what_would_have_happened() -> None:
    modes = AnswerModes(faq=AUTO, catalogue=DRAFT, llm=OFF, shadow=True)
    faq = decide("reply", "faq", modes)
    assert (faq.action, faq.would, faq.reason) == (Action.SHADOW, Action.SEND, SHADOW_WOULD_SEND)
    cat = decide("reply", "catalogue", modes)
    assert (cat.action, cat.would) == (Action.SHADOW, Action.DRAFT)
    assert cat.reason == "shadow: would draft (catalogue answers are in draft mode)"
    llm = decide("reply", "llm", modes)
    assert (llm.action, llm.would) == (Action.SHADOW, Action.HANDOFF)
    assert llm.reason == "shadow: would hand off (answer mode off for llm: a person answers)"
    ack = decide("handoff_ack", "handoff", modes)
    assert (ack.action, ack.reason) == (Action.SHADOW, SHADOW_WOULD_SEND)
    # Transactional mail is not sent in shadow mode either (recorded in the ledger).
    txn = decide("transactional", None, modes)
    assert (txn.action, txn.would) == (Action.SHADOW, Action.SEND)


def _out(kind: OutboundKind, **kw: object) -> OutboundEmail:
    base: dict[str, object] = {
        "message_key": "<m1@c.com>",
        "kind": kind,
        "thread_key": "t1",
        "to": "ana@example.com",
        "subject": "Envíos",
        "body_text": "Enviamos a todo el país.",
        "route": Route.FAQ if kind is OutboundKind.REPLY else Route.HANDOFF,
        "intent": "shipping",
    }
    base.update(kw)
    return OutboundEmail(**base)  # type: ignore[arg-type]


def test_decision_status_is_a_decision_with_a_stable_id() -> None:
    out = _out(OutboundKind.REPLY)
    one = decision_status(
        out, TaskStatus.SHADOWED, reason="shadow: would send", what="mode:shadow", trace_id=None,
        reply_text=out.body_text,
    )  # fmt: skip
    again = decision_status(
        out, TaskStatus.SHADOWED, reason="shadow: would send", what="mode:shadow", trace_id=None
    )
    assert one.event_id == again.event_id
    assert one.producer == MODES_PRODUCER != PRODUCER
    assert (one.status, one.route, one.reply_text) == (
        TaskStatus.SHADOWED,
        Route.FAQ,
        out.body_text,
    )
    other = decision_status(
        out, TaskStatus.DISCARDED, reason="x", what="draft:discarded", trace_id=None,
        producer=DRAFTS_PRODUCER,
    )  # fmt: skip
    assert other.event_id != one.event_id
    assert other.producer == DRAFTS_PRODUCER


def test_kept_status_keeps_the_task_where_it_is() -> None:
    ack = kept_status(
        _out(OutboundKind.HANDOFF_ACK), "not sent: x", what="mode:handoff", trace_id=None
    )
    assert (ack.status, ack.producer, ack.reason) == (
        TaskStatus.HANDOFF,
        PRODUCER,
        "handoff_ack not sent: x",
    )
    stamped = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    waiting = _out(OutboundKind.HOLDING, keeps_status=TaskStatus.PROCESSING, occurred_at=stamped)
    held = kept_status(waiting, "not sent: llm answers are in draft mode", what="m", trace_id=None)
    # Stamped with the holding reply's own time: the task's answer wins whatever the order.
    assert (held.status, held.occurred_at) == (TaskStatus.PROCESSING, stamped)
    dead = kept_status(_out(OutboundKind.HOLDING), "not sent", what="m", trace_id=None)
    assert dead.status is TaskStatus.DEAD_LETTER
