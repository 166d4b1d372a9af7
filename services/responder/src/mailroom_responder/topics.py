"""Faust topic objects for the registry topics this service reads or writes."""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.types import TopicT

from mailroom_common.config import KafkaSettings
from mailroom_common.topics import (
    ALERTS,
    CLASSIFY_REQUESTS,
    DEAD_LETTER,
    HOLDING_CHECKS,
    INBOUND,
    LLM_REQUESTS,
    MAILBOX_ACTIONS,
    OUTBOUND,
    PROVIDER_STATE,
    RETRY_TOPICS,
    STATUS,
    TopicSpec,
)

__all__ = ["Topics", "declare_topics"]

USED: tuple[TopicSpec, ...] = (
    INBOUND,
    LLM_REQUESTS,
    CLASSIFY_REQUESTS,
    HOLDING_CHECKS,
    *(spec for _, spec in RETRY_TOPICS),
    OUTBOUND,
    STATUS,
    DEAD_LETTER,
    ALERTS,
    PROVIDER_STATE,
    MAILBOX_ACTIONS,
)


@dataclass(frozen=True, slots=True)
class Topics:
    by_name: dict[str, TopicT]  # registry name (unprefixed) -> faust topic
    kafka: KafkaSettings

    def __getitem__(self, spec: TopicSpec) -> TopicT:
        return self.by_name[spec.name]

    def real_name(self, spec: TopicSpec) -> str:
        return self.kafka.topic(spec)


def declare_topics(app: faust.App, kafka: KafkaSettings) -> Topics:
    """Topics are created by deployment from the registry; Faust never creates them."""
    by_name = {
        spec.name: app.topic(
            kafka.topic(spec),
            partitions=spec.partitions,
            key_serializer="raw",
            value_serializer="raw",
            internal=False,
        )
        for spec in USED
    }
    return Topics(by_name, kafka)
