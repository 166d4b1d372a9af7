"""Prometheus metrics of the admin API, on a registry owned by one app instance."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


@dataclass(frozen=True, slots=True)
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    reprocessed: Counter
    transactional: Counter
    dead_letters_open: Gauge
    dead_letter_oldest_age: Gauge

    @classmethod
    def create(cls) -> Metrics:
        # A registry per app keeps tests that build several apps from clashing on names.
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter(
                "mailroom_admin_http_requests",
                "HTTP requests handled, by route template and status.",
                ["method", "route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "mailroom_admin_http_request_seconds",
                "Time to answer an HTTP request.",
                ["method", "route"],
                registry=registry,
            ),
            reprocessed=Counter(
                "mailroom_admin_reprocess_published",
                "Emails republished to mail.inbound by an operator.",
                ["mode"],
                registry=registry,
            ),
            transactional=Counter(
                "mailroom_admin_transactional_published",
                "Transactional requests published, by template.",
                ["template"],
                registry=registry,
            ),
            dead_letters_open=Gauge(
                "mailroom_dead_letters_open",
                "Dead letters not reprocessed yet (read from PostgreSQL at each scrape).",
                registry=registry,
            ),
            dead_letter_oldest_age=Gauge(
                "mailroom_dead_letter_oldest_age_seconds",
                "Age of the oldest dead letter not reprocessed yet (0 when there is none).",
                registry=registry,
            ),
        )
