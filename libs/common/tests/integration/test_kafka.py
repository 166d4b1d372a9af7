"""ensure_topics() and trace headers against the real broker."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.trace import TracerProvider

from mailroom_common.config import KafkaSettings
from mailroom_common.events import StatusChanged, TaskStatus
from mailroom_common.kafka import (
    decode_record,
    make_admin,
    make_consumer,
    make_producer,
    send_event,
)
from mailroom_common.topics import REGISTRY, STATUS, TopicMismatchError, TopicSpec, ensure_topics

pytestmark = pytest.mark.integration


async def _describe(settings: KafkaSettings) -> dict[str, tuple[int, str]]:
    admin = make_admin(settings, "tests")
    await admin.start()
    try:
        from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

        names = [settings.topic(s) for s in REGISTRY]
        partitions = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)}
        policies: dict[str, str] = {}
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
        )
        for response in responses:
            for resource in response.resources:
                values = {e[0]: e[1] for e in resource[4]}
                policies[resource[3]] = values["cleanup.policy"]
        return {n: (partitions[n], policies[n]) for n in names}
    finally:
        await admin.close()


async def test_ensure_topics_creates_registry_and_is_idempotent(
    kafka_settings: KafkaSettings,
) -> None:
    admin = make_admin(kafka_settings, "tests")
    await admin.start()
    prefix = kafka_settings.topic_prefix
    try:
        created = await ensure_topics(admin, REGISTRY, name_prefix=prefix)
        assert sorted(created) == sorted(prefix + s.name for s in REGISTRY)
        assert await ensure_topics(admin, REGISTRY, name_prefix=prefix) == []
        described = await _describe(kafka_settings)
        for spec in REGISTRY:
            assert described[prefix + spec.name] == (spec.partitions, spec.cleanup_policy)
        # A topic that differs from the registry in compaction is refused, not "fixed".
        wrong = TopicSpec(STATUS.name, STATUS.partitions, "compact", STATUS.retention_ms, "x")
        with pytest.raises(TopicMismatchError, match=r"cleanup\.policy"):
            await ensure_topics(admin, [wrong], name_prefix=prefix)
    finally:
        await admin.delete_topics([prefix + s.name for s in REGISTRY])
        await admin.close()


async def test_event_with_trace_headers_keeps_its_trace(kafka_topics: KafkaSettings) -> None:
    topic = kafka_topics.topic(STATUS)
    tracer = TracerProvider().get_tracer("tests")
    producer = make_producer(kafka_topics, "tests")
    consumer = make_consumer(kafka_topics, "tests", f"{kafka_topics.topic_prefix}g", topic)
    await producer.start()
    await consumer.start()
    try:
        event = StatusChanged(message_key="<k@x>", status=TaskStatus.PROCESSING)
        with tracer.start_as_current_span("publish") as span:
            meta = await send_event(producer, topic, event, key="<k@x>")
            trace_id = span.get_span_context().trace_id
        assert meta.offset >= 0
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
        decoded = decode_record(record)
        assert decoded.event == event
        assert decoded.key == "<k@x>"
        with tracer.start_as_current_span("consume", context=decoded.context) as child:
            assert child.get_span_context().trace_id == trace_id
    finally:
        await consumer.stop()
        await producer.stop()
