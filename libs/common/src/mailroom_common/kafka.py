"""aiokafka helpers: a safe producer, event records with trace context, admin client."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context
from opentelemetry.context import Context
from pydantic import BaseModel

from mailroom_common.config import KafkaSettings
from mailroom_common.events import Event, decode_event, encode_event
from mailroom_common.telemetry import KafkaHeaders, context_from_headers, headers_with_context

__all__ = [
    "DecodedRecord",
    "connection_kwargs",
    "decode_record",
    "make_admin",
    "make_consumer",
    "make_producer",
    "send_event",
]


def connection_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    """The connection part of every aiokafka client's arguments."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": settings.request_timeout_ms,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        ctx: ssl.SSLContext = create_ssl_context(cafile=settings.ssl_cafile)
        kwargs["ssl_context"] = ctx
    if settings.sasl_mechanism:
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        kwargs["sasl_plain_username"] = settings.sasl_username
        if settings.sasl_password is not None:
            kwargs["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return kwargs


def make_producer(settings: KafkaSettings, client_id: str, **overrides: Any) -> AIOKafkaProducer:
    """A producer that only reports success once all in-sync replicas have the record.

    Idempotence makes the broker drop duplicates from producer retries, so a record is
    written once per successful ``send``; ``acks="all"`` is required for it.
    """
    kwargs: dict[str, Any] = {
        **connection_kwargs(settings),
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "compression_type": None,
    }
    kwargs.update(overrides)
    return AIOKafkaProducer(**kwargs)


def make_consumer(
    settings: KafkaSettings, client_id: str, group_id: str, *topics: str, **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer that commits offsets only when the caller says the work is done."""
    kwargs: dict[str, Any] = {
        **connection_kwargs(settings),
        "client_id": client_id,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
    }
    kwargs.update(overrides)
    return AIOKafkaConsumer(*topics, **kwargs)


def make_admin(settings: KafkaSettings, client_id: str) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**connection_kwargs(settings), client_id=client_id)


async def send_event(
    producer: AIOKafkaProducer,
    topic: str,
    event: BaseModel,
    *,
    key: str | None,
    ctx: Context | None = None,
    headers: KafkaHeaders = (),
) -> Any:
    """Publish ``event`` and wait for the broker's acknowledgement; return its metadata.

    The current trace context (or ``ctx``) goes into the record headers.
    """
    return await producer.send_and_wait(
        topic,
        value=encode_event(event),
        key=key.encode("utf-8") if key is not None else None,
        headers=headers_with_context(headers, ctx),
    )


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    event: Event
    context: Context
    topic: str
    partition: int
    offset: int
    key: str | None


def decode_record(record: Any) -> DecodedRecord:
    """Decode an aiokafka ``ConsumerRecord``; raises ``EventDecodeError`` on bad data."""
    return DecodedRecord(
        event=decode_event(record.value),
        context=context_from_headers(list(record.headers or ())),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode("utf-8", "replace") if record.key is not None else None,
    )
