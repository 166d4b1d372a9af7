"""Every event schema round-trips; wrong versions and missing fields fail clearly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from mailroom_common.events import (
    AlertEvent,
    DeadLetterEvent,
    DecisionRecord,
    Disposition,
    EventDecodeError,
    InboundEmail,
    OutboundEmail,
    OutboundKind,
    ProviderStateEvent,
    Route,
    StatusChanged,
    TaskStatus,
    TransactionalRequest,
    UnsupportedSchemaVersion,
    decode_event,
    encode_event,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

SAMPLES: list[BaseModel] = [
    InboundEmail(
        message_key="<abc@example.com>",
        thread_key="<abc@example.com>",
        mailbox="support",
        uid=7,
        uidvalidity=1,
        from_address="ana@example.com",
        subject="¿Envíos a Córdoba?",
        text="Hola, ¿hacen envíos?",
        disposition=Disposition.ANSWERABLE,
        producer="ingest",
    ),
    OutboundEmail(
        message_key="<abc@example.com>",
        kind=OutboundKind.REPLY,
        thread_key="<abc@example.com>",
        to="ana@example.com",
        subject="Re: ¿Envíos a Córdoba?",
        body_text="Sí, enviamos a todo el país.",
        route=Route.FAQ,
    ),
    TransactionalRequest(
        request_id="order-1001",
        template="order_confirmation",
        to="ana@example.com",
        data={"order_id": 1001, "total": "12.50"},
    ),
    StatusChanged(message_key="<abc@example.com>", status=TaskStatus.REPLIED, route=Route.LLM),
    DeadLetterEvent(
        message_key="<abc@example.com>",
        stage="responder",
        error_class="InternalServerError",
        error_message="503",
        attempts=5,
        first_failure_at=NOW,
        last_failure_at=NOW,
        original={"event_type": "inbound_email"},
        original_topic="mail.inbound",
    ),
    AlertEvent(kind="breaker_opened", message="groq breaker opened"),
    ProviderStateEvent(
        provider="groq",
        breaker_state="open",
        open_until=NOW,
        consecutive_failures=3,
        requests_in_window=8,
        tokens_in_window=1200,
        request_limit=8,
    ),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_round_trip(event: BaseModel) -> None:
    decoded = decode_event(encode_event(event))
    assert type(decoded) is type(event)
    assert decoded == event


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_unknown_schema_version_is_rejected(event: BaseModel) -> None:
    payload = json.loads(encode_event(event))
    payload["schema_version"] = 99
    with pytest.raises(UnsupportedSchemaVersion, match="schema_version=99"):
        decode_event(json.dumps(payload))


def test_missing_version_is_rejected() -> None:
    payload = json.loads(encode_event(SAMPLES[0]))
    del payload["schema_version"]
    with pytest.raises(UnsupportedSchemaVersion):
        decode_event(json.dumps(payload))


def test_missing_field_names_the_field() -> None:
    payload = json.loads(encode_event(SAMPLES[1]))
    del payload["to"]
    with pytest.raises(EventDecodeError, match=r"outbound_email.*\bto\b.*Field required"):
        decode_event(json.dumps(payload))


def test_unknown_field_is_rejected() -> None:
    payload = json.loads(encode_event(SAMPLES[3]))
    payload["surprise"] = 1
    with pytest.raises(EventDecodeError, match="surprise"):
        decode_event(json.dumps(payload))


def test_unknown_event_type_is_rejected() -> None:
    with pytest.raises(EventDecodeError):
        decode_event(b'{"schema_version": 1, "event_type": "nope"}')


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_garbage_is_rejected(raw: bytes) -> None:
    with pytest.raises(EventDecodeError):
        decode_event(raw)


def test_events_are_immutable() -> None:
    event = SAMPLES[3]
    with pytest.raises(ValueError, match="frozen"):
        event.status = TaskStatus.SENT  # type: ignore[misc]


DECISION = DecisionRecord(
    route=Route.CATALOGUE,
    intent="price",
    reason="catalogue:price: asks 'precio' and names 'jean mom'",
    confidence=0.875,
    language="es",
    product_skus=["JM-01", "JR-02"],
    evidence=["cue:precio", "product:JM-01"],
)


def test_a_status_with_its_decision_round_trips() -> None:
    event = StatusChanged(
        message_key="<abc@example.com>", status=TaskStatus.PROCESSING, decision=DECISION
    )
    payload = json.loads(encode_event(event))
    assert payload["decision"] == {
        "route": "catalogue",
        "intent": "price",
        "reason": "catalogue:price: asks 'precio' and names 'jean mom'",
        "confidence": 0.875,
        "language": "es",
        "product_skus": ["JM-01", "JR-02"],
        "evidence": ["cue:precio", "product:JM-01"],
        "decided_by": "router",
    }
    decoded = decode_event(encode_event(event))
    assert isinstance(decoded, StatusChanged)
    assert decoded == event
    assert decoded.decision == DECISION


def test_a_status_without_a_decision_is_the_json_of_before() -> None:
    event = StatusChanged(message_key="<abc@example.com>", status=TaskStatus.SENT)
    payload = json.loads(encode_event(event))
    # Left out, not null: a consumer that predates the field (extra="forbid") reads it.
    assert "decision" not in payload
    assert payload["schema_version"] == 1
    decoded = decode_event(json.dumps(payload))
    assert isinstance(decoded, StatusChanged)
    assert decoded.decision is None


def test_an_old_status_event_still_decodes() -> None:
    # A status_changed as published before the decision field existed, with every field.
    old = {
        "schema_version": 1,
        "event_id": "1d7b7d1a-1b1d-4f17-a6e3-005c9fb2ee42",
        "occurred_at": "2026-11-28T12:00:00Z",
        "producer": "responder",
        "event_type": "status_changed",
        "message_key": "<abc@example.com>",
        "status": "replied",
        "reason": "faq v3",
        "route": "faq",
        "intent": "shipping",
        "attempts": 0,
        "error": None,
        "reply_text": "Sí",
        "model": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "cost_usd": None,
        "latency_ms": None,
        "trace_id": None,
        "from_address": None,
        "subject": None,
        "mailbox": None,
        "received_at": None,
    }
    decoded = decode_event(json.dumps(old))
    assert isinstance(decoded, StatusChanged)
    assert decoded.decision is None
    assert json.loads(encode_event(decoded)) == old
    # An explicit null is accepted too.
    assert decode_event(json.dumps({**old, "decision": None})) == decoded


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": -0.1}, "confidence"),
        ({"language": "pt"}, "language"),
        ({"route": "nowhere"}, "route"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_an_invalid_decision_names_the_field(change: dict[str, object], field: str) -> None:
    payload = json.loads(
        encode_event(
            StatusChanged(message_key="<k@x>", status=TaskStatus.HANDOFF, decision=DECISION)
        )
    )
    payload["decision"].update(change)
    with pytest.raises(EventDecodeError, match=rf"decision\.{field}"):
        decode_event(json.dumps(payload))


def test_the_decision_defaults_to_the_router() -> None:
    minimal = DecisionRecord(
        route=Route.HANDOFF,
        intent="handoff",
        reason="handoff: chargeback",
        confidence=1.0,
        language="en",
    )
    assert (minimal.decided_by, minimal.product_skus, minimal.evidence) == ("router", [], [])
    with pytest.raises(ValueError, match="frozen"):
        minimal.reason = "x"  # type: ignore[misc]


def _outbound(**fields: object) -> OutboundEmail:
    return OutboundEmail(
        message_key="<abc@example.com>",
        kind=OutboundKind.HOLDING,
        thread_key="<abc@example.com>",
        to="ana@example.com",
        subject="Re: Consulta",
        body_text="Recibimos tu mensaje.",
        **fields,  # type: ignore[arg-type]
    )


def test_a_holding_reply_that_keeps_the_status_round_trips() -> None:
    event = _outbound(keeps_status=TaskStatus.PROCESSING)
    assert json.loads(encode_event(event))["keeps_status"] == "processing"
    decoded = decode_event(encode_event(event))
    assert isinstance(decoded, OutboundEmail)
    assert decoded.keeps_status is TaskStatus.PROCESSING


def test_an_outbound_without_keeps_status_is_the_json_of_before() -> None:
    # Left out, not null: a sender that predates the field (extra="forbid") reads it.
    payload = json.loads(encode_event(_outbound()))
    assert "keeps_status" not in payload
    decoded = decode_event(json.dumps(payload))
    assert isinstance(decoded, OutboundEmail)
    assert decoded.keeps_status is None
