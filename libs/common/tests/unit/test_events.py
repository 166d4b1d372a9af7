"""Every event schema round-trips; wrong versions and missing fields fail clearly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from mailroom_common.events import (
    AlertEvent,
    DeadLetterEvent,
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
