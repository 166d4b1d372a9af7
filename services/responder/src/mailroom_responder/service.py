"""Assemble the responder from settings: app, topics, tables, runtime, agents, timers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, cast

import faust
from aiokafka.partitioner import murmur2
from faust.contrib.opentelemetry import setup_opentelemetry
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.config import CommonSettings, DatabaseSettings, KafkaSettings
from mailroom_common.db.session import make_engine
from mailroom_common.logging import get_logger
from mailroom_common.topics import CLASSIFY_REQUESTS, INBOUND, LLM_REQUESTS
from mailroom_responder.agents import Agents, register_agents
from mailroom_responder.app import create_app
from mailroom_responder.breaker import BreakerConfig
from mailroom_responder.classification import classifier_key
from mailroom_responder.classifier import ClassifierConfig, ClassifierDesk
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook, load_faq
from mailroom_responder.decision.model import load_model
from mailroom_responder.decision.reply_gate import load_rules
from mailroom_responder.desk import Desk, DeskConfig
from mailroom_responder.faust_io import FaustPublisher, TableClassifyDone, TableDone, TableState
from mailroom_responder.holding import HoldingTimer
from mailroom_responder.inbound import InboundConfig
from mailroom_responder.limiter import LimiterConfig
from mailroom_responder.llm_client import ClassifierClient, LlmClient
from mailroom_responder.owners_store import OwnerCache
from mailroom_responder.provider import ProviderConfig
from mailroom_responder.runtime import Runtime
from mailroom_responder.settings import GroqSettings, ResponderSettings
from mailroom_responder.store import CatalogueCache, CatalogueRetry, TurnWriter, load_catalogue
from mailroom_responder.tables import Tables, declare_tables
from mailroom_responder.topics import Topics, declare_topics

__all__ = ["Service", "build_service", "provider_config", "provider_partition", "readiness"]

log = get_logger("mailroom_responder.service")


def provider_config(settings: ResponderSettings) -> ProviderConfig:
    return ProviderConfig(
        breaker=BreakerConfig(
            failure_threshold=settings.breaker_failure_threshold,
            cooldown_s=settings.breaker_cooldown_s,
            probe_timeout_s=settings.breaker_probe_timeout_s,
        ),
        limiter=LimiterConfig(
            max_requests=settings.rate_limit_requests,
            window_s=settings.rate_limit_window_s,
            max_tokens=settings.rate_limit_tokens,
            margin_s=settings.rate_limit_margin_s,
            default_backoff_s=settings.rate_limit_default_backoff_s,
        ),
    )


def classifier_provider_config(settings: ResponderSettings) -> ProviderConfig:
    """The classifier model's own breaker and limiter (Groq's limits are per model)."""
    return ProviderConfig(
        breaker=BreakerConfig(
            failure_threshold=settings.classifier_breaker_failure_threshold,
            cooldown_s=settings.classifier_breaker_cooldown_s,
            probe_timeout_s=settings.classifier_breaker_probe_timeout_s,
        ),
        limiter=LimiterConfig(
            max_requests=settings.classifier_rate_limit_requests,
            window_s=settings.classifier_rate_limit_window_s,
            margin_s=settings.rate_limit_margin_s,
            default_backoff_s=settings.rate_limit_default_backoff_s,
        ),
    )


def provider_partition(provider: str) -> int:
    """The mail.llm-requests (or mail.classify-requests: as many partitions) partition of a
    provider key (Kafka's default partitioner)."""
    digest: int = murmur2(provider.encode("utf-8"))
    return (digest & 0x7FFFFFFF) % LLM_REQUESTS.partitions


@dataclass
class Service:
    app: faust.App
    topics: Topics
    tables: Tables
    runtime: Runtime
    agents: Agents
    catalogue: CatalogueCache | None


def build_service(
    *,
    settings: ResponderSettings,
    groq: GroqSettings,
    kafka: KafkaSettings,
    common: CommonSettings,
    database: DatabaseSettings | None,
    client: LlmClient,
    faq: FaqBook | None = None,
    engine: AsyncEngine | None = None,
    classifier_client: ClassifierClient | None = None,
) -> Service:
    """Wire everything; ``database=None`` (unit tests) runs without PostgreSQL.

    Without ``classifier_client`` (unit tests) no decision is put to the classifier.
    """
    app = create_app(settings, kafka)
    # Faust's OpenTelemetry sensor opens a CONSUMER "<topic> process" span per event, with
    # the producer's context from the record headers as parent, and keeps it current while
    # the agent works: everything the runtime does nests under the Kafka hop.
    setup_opentelemetry(app)
    topics = declare_topics(app, kafka)
    tables = declare_tables(app)
    faq_book = faq or load_faq(settings.faq_path)
    if settings.route_model_path is not None:
        faq_book = replace(faq_book, route_model=load_model(settings.route_model_path))
    if engine is None and database is not None:
        engine = make_engine(database)
    turns = TurnWriter(engine) if engine is not None else None
    publisher = FaustPublisher(app, topics)
    cache = (
        CatalogueCache(
            partial(load_catalogue, engine),
            retry=CatalogueRetry(
                load_timeout_s=settings.catalogue_load_timeout_s,
                initial_s=settings.catalogue_retry_initial_s,
                max_s=settings.catalogue_retry_max_s,
            ),
            publish=publisher.emit,
        )
        if engine is not None
        else None
    )
    owners = (
        OwnerCache(
            engine,
            quiet_s=common.thread_quiet_days * 86_400,
            refresh_s=settings.owners_refresh_s,
        )
        if engine is not None
        else None
    )
    if owners is not None:
        publisher.observers.append(owners.observe)
    empty = Catalogue()

    async def no_catalogue() -> Catalogue:
        return empty

    catalogue = cache.get if cache is not None else no_catalogue
    desk = Desk(
        cfg=DeskConfig(
            provider=provider_config(settings),
            inbound_topic=kafka.topic(INBOUND),
            max_attempts=settings.max_attempts,
            retry_delays_s=tuple(settings.retry_delays_s),
            holding_reply=settings.holding_reply_enabled,
            handoff_ack=settings.handoff_ack_enabled,
            reply_max_chars=settings.reply_max_chars,
            price_input_per_token=settings.price_input_per_token_usd,
            price_output_per_token=settings.price_output_per_token_usd,
            hold_check_s=settings.hold_check_s,
        ),
        client=client,
        state=TableState(tables, settings.provider, publisher.flush),
        done=TableDone(tables),
        publisher=publisher,
        faq=faq_book,
        clock=time.time,
        sleep=asyncio.sleep,
        catalogue=catalogue,
        gate_rules=load_rules(settings.reply_gate_path),
    )
    inbound_cfg = InboundConfig(
        shop_name=common.shop_name,
        provider=settings.provider,
        handoff_ack=settings.handoff_ack_enabled,
        excerpt_max_chars=settings.excerpt_max_chars,
        max_tokens=groq.max_tokens,
        holding_after_s=settings.holding_after_s if settings.holding_reply_enabled else None,
    )
    classifier: ClassifierDesk | None = None
    if classifier_client is not None:
        key = classifier_key(settings.provider)
        classifier = ClassifierDesk(
            cfg=ClassifierConfig(
                provider=classifier_provider_config(settings),
                enabled=settings.classifier_enabled,
                key=key,
                threshold=settings.classifier_threshold,
                timeout_s=settings.classifier_timeout_s,
                response_format=settings.classifier_response_format,
                shop_name=common.shop_name,
            ),
            client=classifier_client,
            state=TableState(tables, key, publisher.flush, table=tables.classifier_state),
            done=TableClassifyDone(tables, publisher.flush),
            publisher=publisher,
            faq=faq_book,
            catalogue=catalogue,
            inbound_cfg=inbound_cfg,
            clock=time.time,
        )
    runtime = Runtime(
        app=app,
        topics=topics,
        tables=tables,
        publisher=publisher,
        desk=desk,
        faq=faq_book,
        catalogue=catalogue,
        inbound_cfg=inbound_cfg,
        history_turns=settings.history_turns,
        turns=turns,
        hold_check_s=settings.hold_check_s,
        classifier=classifier,
        holding_timer=HoldingTimer(
            done=desk.done,
            publisher=publisher,
            faq=faq_book,
            clock=time.time,
            sleep=asyncio.sleep,
            finishing=lambda: desk.finishing,
            hold_check_s=settings.hold_check_s,
            enabled=settings.holding_reply_enabled,
        ),
        owners=owners,
    )
    agents = register_agents(app, runtime)
    if turns is not None:
        writer = turns
        app.timer(settings.history_flush_s, on_leader=False)(writer.flush)

        async def flush_turns_on_stop(
            sender: Any, *args: Any, signal: Any = None, **kwargs: Any
        ) -> None:
            del sender, args, signal, kwargs
            await writer.flush()

        app.on_before_shutdown.connect(cast(Any, flush_turns_on_stop))
    if owners is not None:
        # Loads, then refreshes; the inbound agent waits for the first load.
        app.task(owners.run)
    if cache is not None:
        # The first load retries until it succeeds; the inbound agent waits for it.
        app.task(cache.load_until_ready)
        app.timer(settings.catalogue_refresh_s, on_leader=False)(cache.refresh)
    _register_health(
        app,
        runtime,
        faq=faq_book,
        cache=cache,
        owners=owners,
        provider=settings.provider,
        llm_topic=kafka.topic(LLM_REQUESTS),
    )
    return Service(app, topics, tables, runtime, agents, cache)


def readiness(
    faq: FaqBook | None, cache: CatalogueCache | None, owners: OwnerCache | None = None
) -> dict[str, Any]:
    """What /readyz answers: ready once the FAQ and the first catalogue load are done.

    ``cache`` None means a responder built without PostgreSQL (unit tests): nothing to load.
    A failed refresh after the first load keeps the worker ready (it decides with the last
    good catalogue); the body says so.
    """
    missing: list[str] = []
    if faq is None:
        missing.append("faq")
    if cache is not None and not cache.ready:
        missing.append("catalogue")
    if owners is not None and not owners.ready:
        missing.append("thread_owners")  # nothing is answered before it is known
    return {
        "ready": not missing,
        "missing": missing,
        "faq": {
            "loaded": faq is not None,
            "version": faq.version if faq else None,
            "entries": len(faq.entries) if faq else 0,
        },
        "catalogue": cache.status() if cache is not None else {"loaded": None},
        "thread_owners": {
            "loaded": owners.ready if owners is not None else None,
            "owned_ids": len(owners.index) if owners is not None else 0,
        },
    }


def _register_health(
    app: faust.App,
    runtime: Runtime,
    *,
    faq: FaqBook,
    cache: CatalogueCache | None,
    owners: OwnerCache | None,
    provider: str,
    llm_topic: str,
) -> None:
    partition = provider_partition(provider)

    async def healthz(web: Any, request: Any) -> Any:
        del request
        assigned = {(tp.topic, tp.partition) for tp in app.assignor.assigned_actives()}
        state = runtime.desk.state.load() if (llm_topic, partition) in assigned else None
        classifier = runtime.classifier
        classifier_at = (
            (runtime.topics.real_name(CLASSIFY_REQUESTS), provider_partition(classifier.cfg.key))
            if classifier is not None
            else None
        )
        owns_classifier = classifier_at in assigned
        return web.json(
            {
                "status": "ok",
                "rebalancing": bool(getattr(app, "rebalancing", False)),
                "owns_provider": (llm_topic, partition) in assigned,
                "provider_partition": partition,
                "assigned": sorted(f"{t}/{p}" for t, p in assigned),
                "catalogue_products": len(cache.current.products) if cache else 0,
                "catalogue_loaded": cache.ready if cache else None,
                "breaker": state.breaker.phase.value if state else None,
                "owns_classifier": owns_classifier,
                "classifier_breaker": classifier.state.load().breaker.phase.value
                if classifier is not None and owns_classifier
                else None,
            }
        )

    async def readyz(web: Any, request: Any) -> Any:
        del request
        report = readiness(faq, cache, owners)
        return web.json(report, status=200 if report["ready"] else 503)

    app.page("/healthz")(healthz)
    app.page("/readyz")(readyz)
