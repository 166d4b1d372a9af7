"""``POST /v1/transactional``: validate a request and hand it to the sender via Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from mailroom_admin_api.metrics import Metrics
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.schemas import TransactionalIn, TransactionalOut
from mailroom_common.events import TransactionalRequest
from mailroom_common.kafka import send_event
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import hash_address

__all__ = ["build_request", "enqueue_transactional"]

log = get_logger(__name__)


def build_request(body: TransactionalIn, known_templates: Sequence[str]) -> TransactionalRequest:
    """The event to publish, or a 422 problem for a template the sender does not know."""
    if body.template not in known_templates:
        raise ProblemError(
            422,
            "Unknown template",
            f"Template {body.template!r} is not one of: {', '.join(sorted(known_templates))}.",
            kind="unknown-template",
        )
    return TransactionalRequest(
        producer="admin-api",
        request_id=body.request_id or f"admin-{uuid.uuid4()}",
        template=body.template,
        to=body.to,
        locale=body.locale,
        data=body.data,
    )


async def enqueue_transactional(
    producer: AIOKafkaProducer,
    topic: str,
    body: TransactionalIn,
    known_templates: Sequence[str],
    metrics: Metrics,
) -> TransactionalOut:
    event = build_request(body, known_templates)
    try:
        # Keyed by request_id so a retried request lands on the same partition, in order.
        await send_event(producer, topic, event, key=event.request_id)
    except KafkaError as exc:
        raise ProblemError(
            503,
            "Kafka unavailable",
            f"Could not publish to {topic}: {type(exc).__name__}; retry with the same request_id.",
            kind="kafka-unavailable",
        ) from exc
    metrics.transactional.labels(template=event.template).inc()
    log.info(
        "transactional.enqueued",
        request_id=event.request_id,
        template=event.template,
        to=hash_address(event.to),
    )
    return TransactionalOut(id=event.request_id, event_id=event.event_id, template=event.template)
