"""The Faust app, built from settings (never at import time)."""

from __future__ import annotations

import faust

from mailroom_common.config import KafkaSettings
from mailroom_common.topics import INBOUND
from mailroom_responder.consumer import SeekSafeTransport
from mailroom_responder.settings import ResponderSettings

__all__ = ["broker_urls", "create_app"]


def broker_urls(kafka: KafkaSettings) -> list[str]:
    """Faust wants ``kafka://host:port`` URLs."""
    return [
        f"kafka://{server.strip()}"
        for server in kafka.bootstrap_servers.split(",")
        if server.strip()
    ]


def create_app(settings: ResponderSettings, kafka: KafkaSettings) -> faust.App:
    # The topic prefix also prefixes the app id (consumer group and changelog topics),
    # so two test runs, or two environments on one cluster, never share state.
    app = faust.App(
        f"{kafka.topic_prefix}{settings.app_id}",
        broker=broker_urls(kafka),
        broker_credentials=None,
        store="memory://",  # tables are rebuilt from their changelog topics on start
        topic_partitions=INBOUND.partitions,
        topic_disable_leader=True,
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_commit_interval=settings.commit_interval_s,
        producer_acks=-1,
        # A record in a delay topic may wait minutes; the fetcher must not drop us.
        broker_max_poll_interval=600.0,
        stream_wait_empty=True,
        web_enabled=settings.web_enabled,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_in_thread=False,
        worker_redirect_stdouts=False,
        # Faust's worker calls dictConfig at start; keep our (structlog) loggers enabled.
        logging_config={"version": 1, "disable_existing_loggers": False, "merge": True},
    )
    # Faust's own transport can lose records when a worker starts with a backlog; see
    # mailroom_responder.consumer.
    transport = SeekSafeTransport(app.conf.broker_consumer, app)
    transport.stall_reseek_s = settings.stall_reseek_s
    app.transport = transport
    return app
