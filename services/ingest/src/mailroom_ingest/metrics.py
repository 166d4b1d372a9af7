"""Prometheus counters for ingest, in a registry of their own (no import-time globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["IngestMetrics"]


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.fetched = Counter(
            "mailroom_ingest_fetched",
            "Mails fetched from IMAP.",
            ["mailbox"],
            registry=self.registry,
        )
        self.published = Counter(
            "mailroom_ingest_published",
            "Mails acknowledged by Kafka, by disposition.",
            ["mailbox", "disposition"],
            registry=self.registry,
        )
        self.ignored = Counter(
            "mailroom_ingest_ignored",
            "Mails published as ignored, by screening reason.",
            ["mailbox", "reason"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "mailroom_ingest_rejected",
            "Mails published as rejected (could not be parsed or have no sender).",
            ["mailbox"],
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "mailroom_ingest_publish_failures",
            "Kafka publishes that failed (the mail is retried from the checkpoint).",
            ["mailbox"],
            registry=self.registry,
        )
        self.reconnects = Counter(
            "mailroom_ingest_reconnects",
            "IMAP reconnect attempts after a failure.",
            ["mailbox"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mailroom_ingest_fetch_to_ack_seconds",
            "Time from fetching a mail to Kafka's acknowledgement.",
            ["mailbox"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
