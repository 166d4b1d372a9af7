"""The status event emitted once the route is decided carries the routing decision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mailroom_common.events import (
    AttachmentMeta,
    DecisionRecord,
    Route,
    StatusChanged,
    TaskStatus,
    decode_event,
    encode_event,
)
from mailroom_responder import outcomes
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.decision.routing import Decision
from mailroom_responder.inbound import InboundConfig, InboundResult, handle_inbound, handoff

CFG = InboundConfig()


def run(email: Any, faq: FaqBook, catalogue: Catalogue) -> InboundResult:
    return handle_inbound(email, history=[], faq=faq, catalogue=catalogue, cfg=CFG)


def statuses(result: InboundResult) -> list[StatusChanged]:
    return [e.event for e in result.emissions if isinstance(e.event, StatusChanged)]


def expected_record(result: InboundResult) -> DecisionRecord:
    assert result.decision is not None
    return DecisionRecord.model_validate(result.decision.record())


@pytest.mark.parametrize(
    "case",
    [
        ("¿Hacen envíos a Córdoba? ¿Cuánto tarda?", Route.FAQ, TaskStatus.REPLIED),
        ("¿Dónde está mi pedido #1234?", Route.HANDOFF, TaskStatus.HANDOFF),
        ("¿Abren el sábado a la tarde?", Route.LLM, TaskStatus.PROCESSING),
        ("¿Qué precio tiene el jean mom?", Route.CATALOGUE, TaskStatus.REPLIED),  # templates
        ("¿Cómo calza el jean mom? ¿Es rígido?", Route.CATALOGUE, TaskStatus.PROCESSING),
    ],
)
def test_the_route_deciding_status_carries_the_decision(
    make_email: Callable[..., Any],
    faq: FaqBook,
    catalogue: Catalogue,
    case: tuple[str, Route, TaskStatus],
) -> None:
    text, route, carrier = case
    email = make_email(text)
    result = run(email, faq, catalogue)
    assert result.decision is not None
    assert result.decision.route is route
    events = statuses(result)
    with_decision = [s for s in events if s.decision is not None]
    assert [s.status for s in with_decision] == [carrier]
    (carrying,) = with_decision
    assert carrying.decision == expected_record(result)
    assert carrying.decision is not None
    assert carrying.decision.route is route
    assert carrying.decision.decided_by == "router"
    # What goes on the topic is what the projector reads back.
    assert decode_event(encode_event(carrying)) == carrying
    # The first status is still PROCESSING, and nothing else was reordered.
    assert events[0].status is TaskStatus.PROCESSING
    if carrier is TaskStatus.PROCESSING:  # the LLM answers: the desk reports the rest
        assert [s.status for s in events] == [TaskStatus.PROCESSING]
        assert result.request is not None
    else:
        assert result.request is None


@pytest.mark.parametrize(
    "text",
    [
        "¿Hacen envíos a Córdoba? ¿Cuánto tarda?",
        "¿Dónde está mi pedido #1234?",
        "¿Abren el sábado a la tarde?",
    ],
)
def test_event_ids_stay_stable(
    make_email: Callable[..., Any], faq: FaqBook, catalogue: Catalogue, text: str
) -> None:
    email = make_email(text)
    first = run(email, faq, catalogue)
    again = run(email, faq, catalogue)  # a re-emission after a crash

    def content(result: InboundResult) -> list[dict[str, Any]]:
        return [e.event.model_dump(exclude={"occurred_at"}) for e in result.emissions]

    assert content(again) == content(first)  # same ids, same decision
    for status in statuses(first):
        assert status.event_id == outcomes.stable_id(
            email, "status", status.status.value, status.attempts
        )


def test_an_english_faq_answer_carries_the_routers_record(
    make_email: Callable[..., Any], faq: FaqBook, catalogue: Catalogue
) -> None:
    email = make_email("Hello, do you ship to Chile? How long does delivery take?")
    result = run(email, faq, catalogue)
    assert result.decision is not None
    (replied,) = [s for s in statuses(result) if s.status is TaskStatus.REPLIED]
    # The language is the router's (es/en); the record is exactly Decision.record().
    assert replied.decision == DecisionRecord(**result.decision.record())  # type: ignore[arg-type]
    assert replied.reply_text is not None
    assert replied.reply_text.startswith("We ship")
    # It asks how long delivery takes, not what it costs: that fact is left out.
    assert "3 to 7 business days" in replied.reply_text
    assert "postcode" not in replied.reply_text
    assert replied.reason == "faq v2: shipping (facts: timing)"


def test_a_handoff_without_a_router_decision_carries_none(
    make_email: Callable[..., Any], faq: FaqBook, catalogue: Catalogue
) -> None:
    # No usable reply address: the responder hands off before the router runs.
    result = run(make_email("¿Tienen local?", from_address=None), faq, catalogue)
    assert [s.status for s in statuses(result)] == [TaskStatus.PROCESSING, TaskStatus.HANDOFF]
    assert all(s.decision is None for s in statuses(result))
    # The desk's handoff of an unsafe LLM reply passes none either: the task keeps the
    # decision PROCESSING recorded.
    out = handoff(
        make_email("hola"), reason="reply_leaks_instructions", to="a@b.test", faq=faq, ack=True
    )
    (status,) = [e.event for e in out if isinstance(e.event, StatusChanged)]
    assert status.decision is None
    assert b'"decision"' not in encode_event(status)


def test_the_record_is_clamped_rather_than_refused() -> None:
    slip = Decision(Route.LLM, "general", reason="x", confidence=1.7, language="pt")
    record = outcomes.decision_record(slip, language="en")
    assert (record.confidence, record.language) == (1.0, "en")
    low = Decision(Route.LLM, "general", reason="x", confidence=-0.2, language="es")
    assert outcomes.decision_record(low, language="en").confidence == 0.0


def test_a_mail_with_only_attachments_goes_to_a_person(
    make_email: Callable[..., Any], faq: FaqBook, catalogue: Catalogue
) -> None:
    email = make_email(
        "",
        subject="",
        attachments=[AttachmentMeta(filename="foto.jpg", content_type="image/jpeg", size=9)],
    )
    result = run(email, faq, catalogue)
    assert result.request is None
    final = statuses(result)[-1]
    assert final.status is TaskStatus.HANDOFF
    assert final.reason == "attachment_only"


def test_an_empty_mail_is_recorded_as_no_text(
    make_email: Callable[..., Any], faq: FaqBook, catalogue: Catalogue
) -> None:
    result = run(make_email("  \n", subject=""), faq, catalogue)
    assert result.request is None
    assert [(s.status, s.reason) for s in statuses(result)][-1] == (
        TaskStatus.IGNORED,
        "no_text",
    )
    assert not [e for e in result.emissions if not isinstance(e.event, StatusChanged)]


def test_an_empty_body_with_a_question_in_the_subject_is_read(
    make_email: Callable[..., Any], faq: FaqBook, catalogue: Catalogue
) -> None:
    result = run(make_email("", subject="¿Hacen envíos a Córdoba?"), faq, catalogue)
    assert result.decision is not None
    assert result.decision.route is Route.FAQ
