"""The topic registry: every Kafka topic mailroom uses, in one place.

Deployment manifests (Strimzi ``KafkaTopic`` resources, compose's topic job) are checked
against this registry by tests, so it is the single source of truth for names,
partition counts, cleanup policies and retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

__all__ = [
    "ALERTS",
    "CLASSIFY_REQUESTS",
    "DEAD_LETTER",
    "DRAFT_ACTIONS",
    "HOLDING_CHECKS",
    "INBOUND",
    "LLM_REQUESTS",
    "MAILBOX_ACTIONS",
    "OUTBOUND",
    "PROVIDER_STATE",
    "REGISTRY",
    "RETRY_TOPICS",
    "STATUS",
    "TRANSACTIONAL",
    "TopicMismatchError",
    "TopicSpec",
    "ensure_topics",
    "retry_topic_for_delay",
]

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    cleanup_policy: Literal["delete", "compact"]
    retention_ms: int
    description: str

    def configs(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


INBOUND = TopicSpec("mail.inbound", 6, "delete", 14 * DAY_MS, "Emails read by ingest.")
RETRY_30S = TopicSpec("mail.responder.retry-30s", 6, "delete", 7 * DAY_MS, "Retry after 30 s.")
RETRY_60S = TopicSpec("mail.responder.retry-60s", 6, "delete", 7 * DAY_MS, "Retry after 60 s.")
RETRY_120S = TopicSpec("mail.responder.retry-120s", 6, "delete", 7 * DAY_MS, "Retry after 120 s.")
# One partition per provider key: every LLM call for a provider is handled by the one
# worker that owns that partition, so the breaker and limiter are cluster-wide.
LLM_REQUESTS = TopicSpec(
    "mail.llm-requests", 3, "delete", 7 * DAY_MS, "LLM calls keyed by provider."
)
# The responder's classifier of unsure decisions: keyed by its provider key
# ("groq:classifier"), so one worker owns that model's breaker and limiter, as above.
CLASSIFY_REQUESTS = TopicSpec(
    "mail.classify-requests", 3, "delete", 7 * DAY_MS, "Classifier calls keyed by provider."
)
# Holding-reply checks, one per queued LLM request, due when its email has waited
# RESPONDER_HOLDING_AFTER_S. Keyed by provider like mail.llm-requests (same partition
# count), so the worker owning the provider's desk owns them and reads its llm-done table.
HOLDING_CHECKS = TopicSpec(
    "mail.responder.holding", 3, "delete", 7 * DAY_MS, "Holding-reply checks by provider."
)
OUTBOUND = TopicSpec("mail.outbound", 6, "delete", 14 * DAY_MS, "Replies for the sender.")
TRANSACTIONAL = TopicSpec(
    "mail.transactional", 3, "delete", 14 * DAY_MS, "Transactional mail requests."
)
DEAD_LETTER = TopicSpec("mail.dead-letter", 3, "delete", 90 * DAY_MS, "Work given up on.")
STATUS = TopicSpec("mail.status", 6, "delete", 14 * DAY_MS, "Task status changes.")
ALERTS = TopicSpec("mail.alerts", 1, "delete", 90 * DAY_MS, "Operator alerts.")
PROVIDER_STATE = TopicSpec(
    "mail.provider-state", 1, "compact", 90 * DAY_MS, "Breaker/limiter snapshot per provider."
)
# Flags and thread ownership in the mailbox: the responder asks, ingest (which owns the
# IMAP connection) does it. Keyed by message_key.
MAILBOX_ACTIONS = TopicSpec(
    "mail.mailbox-actions", 3, "delete", 14 * DAY_MS, "Mailbox flags and thread ownership."
)
# Operators approving or discarding drafted replies (admin API -> sender), by message_key.
DRAFT_ACTIONS = TopicSpec(
    "mail.draft-actions", 3, "delete", 14 * DAY_MS, "Draft approvals and discards."
)

RETRY_TOPICS: tuple[tuple[int, TopicSpec], ...] = (
    (30, RETRY_30S),
    (60, RETRY_60S),
    (120, RETRY_120S),
)

REGISTRY: tuple[TopicSpec, ...] = (
    INBOUND,
    RETRY_30S,
    RETRY_60S,
    RETRY_120S,
    LLM_REQUESTS,
    CLASSIFY_REQUESTS,
    HOLDING_CHECKS,
    OUTBOUND,
    TRANSACTIONAL,
    DEAD_LETTER,
    STATUS,
    ALERTS,
    PROVIDER_STATE,
    MAILBOX_ACTIONS,
    DRAFT_ACTIONS,
)


def retry_topic_for_delay(delay_s: float) -> TopicSpec:
    """The delay topic whose delay is the smallest one at least ``delay_s`` (capped)."""
    for seconds, spec in RETRY_TOPICS:
        if delay_s <= seconds:
            return spec
    return RETRY_TOPICS[-1][1]


class TopicMismatchError(RuntimeError):
    """An existing topic differs from the registry in a way we must not fix silently."""


async def ensure_topics(
    admin: AIOKafkaAdminClient,
    specs: Iterable[TopicSpec] = REGISTRY,
    *,
    replication_factor: int = 1,
    name_prefix: str = "",
    visible_within_s: float = 30.0,
) -> list[str]:
    """Create missing topics and check existing ones; return the names created.

    Returns only once the brokers' metadata lists every created topic (a KRaft broker
    learns of a new topic a moment after the controller has made it), so a producer
    or a second call straight after sees them; :class:`TimeoutError` after
    ``visible_within_s``. Idempotent. An existing topic with fewer partitions is grown
    (Kafka allows that); more partitions or another cleanup policy raise
    :class:`TopicMismatchError`, because shrinking or changing compaction would reorder
    or lose data.
    """
    wanted = {name_prefix + s.name: s for s in specs}
    existing = set(await admin.list_topics())
    to_create = [
        NewTopic(
            name=name,
            num_partitions=spec.partitions,
            replication_factor=replication_factor,
            topic_configs=spec.configs(),
        )
        for name, spec in wanted.items()
        if name not in existing
    ]
    created: list[str] = []
    if to_create:
        # Another replica may win the race; its topics are then as good as ours.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(to_create)
        created = [t.name for t in to_create]
        await _await_visible(admin, set(created), visible_within_s)
    await _check_existing(admin, {n: s for n, s in wanted.items() if n in existing})
    return created


async def _await_visible(admin: AIOKafkaAdminClient, names: set[str], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    delay = 0.05
    while missing := names - set(await admin.list_topics()):
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"topics not in the brokers' metadata after {within_s}s: {sorted(missing)}"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def _check_existing(admin: AIOKafkaAdminClient, specs: dict[str, TopicSpec]) -> None:
    if not specs:
        return
    described = await admin.describe_topics(list(specs))
    grow: dict[str, NewPartitions] = {}
    for topic in described:
        name = topic["topic"]
        have = len(topic["partitions"])
        want = specs[name].partitions
        if have > want:
            raise TopicMismatchError(f"{name} has {have} partitions, the registry says {want}")
        if have < want:
            grow[name] = NewPartitions(total_count=want)
    if grow:
        await admin.create_partitions(grow)
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in specs]
    for response in await admin.describe_configs(resources):
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            values = {e[0]: e[1] for e in entries}
            want_policy = specs[name].cleanup_policy
            if values.get("cleanup.policy") != want_policy:
                raise TopicMismatchError(
                    f"{name} has cleanup.policy={values.get('cleanup.policy')}, "
                    f"the registry says {want_policy}"
                )
