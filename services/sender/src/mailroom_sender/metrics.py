"""Prometheus metrics of the sender and projector, in a registry made at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["SenderMetrics"]


@dataclass(frozen=True, slots=True)
class SenderMetrics:
    registry: CollectorRegistry
    sent: Counter
    failed: Counter
    guarded: Counter
    uncertain: Counter
    retried: Counter
    skipped: Counter
    send_seconds: Histogram
    projected: Counter
    outcomes: Counter
    end_to_end: Histogram
    redrives: Counter
    modes: Counter
    drafts: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> SenderMetrics:
        reg = registry or CollectorRegistry()
        return cls(
            registry=reg,
            sent=Counter(
                "mailroom_sender_sent", "Messages accepted by SMTP.", ["kind"], registry=reg
            ),
            failed=Counter(
                "mailroom_sender_failed",
                "Messages rejected for good (5xx, bad request).",
                ["kind"],
                registry=reg,
            ),
            guarded=Counter(
                "mailroom_sender_guarded",
                "Messages stopped by a loop guard.",
                ["kind"],
                registry=reg,
            ),
            uncertain=Counter(
                "mailroom_sender_uncertain",
                "Messages that may or may not have been sent.",
                ["kind"],
                registry=reg,
            ),
            retried=Counter(
                "mailroom_sender_retries",
                "Temporary SMTP failures scheduled for retry.",
                ["kind"],
                registry=reg,
            ),
            skipped=Counter(
                "mailroom_sender_duplicates_skipped",
                "Redelivered records already handled.",
                ["kind"],
                registry=reg,
            ),
            send_seconds=Histogram(
                "mailroom_sender_smtp_seconds",
                "SMTP transaction duration.",
                registry=reg,
            ),
            projected=Counter(
                "mailroom_projector_events",
                "Events applied by the projector.",
                ["event_type", "outcome"],
                registry=reg,
            ),
            outcomes=Counter(
                "mailroom_emails",
                "Emails that reached a final state, by state and route (from the projector).",
                ["status", "route"],
                registry=reg,
            ),
            end_to_end=Histogram(
                "mailroom_email_end_to_end_seconds",
                "Received by ingest → reply accepted by SMTP, per route.",
                ["route"],
                buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
                registry=reg,
            ),
            redrives=Counter(
                "mailroom_sender_redrives",
                "Stuck 'received' tasks handled by the redrive sweep "
                "(republished, gave_up = alert raised, failed = publish failed).",
                ["outcome"],
                registry=reg,
            ),
            modes=Counter(
                "mailroom_sender_answer_modes",
                "Outbound messages by what the answer modes made of them "
                "(send, draft, handoff, skip, shadow).",
                ["kind", "action"],
                registry=reg,
            ),
            drafts=Counter(
                "mailroom_sender_drafts",
                "Drafts by event (filed, approved, discarded, sent_by_person, removed).",
                ["event"],
                registry=reg,
            ),
        )
