"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from mailroom_admin_api.console import install_console
from mailroom_admin_api.deps import reject_unknown_query, require_token
from mailroom_admin_api.metrics import Metrics
from mailroom_admin_api.observability import PrometheusMiddleware
from mailroom_admin_api.problems import Problem, install_problem_handlers
from mailroom_admin_api.provider_state import ProviderStateReader, ProviderStateStore
from mailroom_admin_api.resources import Resources
from mailroom_admin_api.routes import (
    alerts,
    corrections,
    dead_letters,
    drafts,
    handoffs,
    health,
    providers,
    stats,
    tasks,
    threads,
    transactional,
)
from mailroom_admin_api.settings import ServiceSettings
from mailroom_common.db.session import make_engine, make_sessionmaker
from mailroom_common.kafka import make_producer
from mailroom_common.logging import get_logger

__all__ = ["PUBLIC_PATHS", "create_app"]

log = get_logger(__name__)

# Paths that answer without a token (probes and the API description).
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)

DESCRIPTION = """\
Operator view and controls of mailroom: email tasks, dead letters, LLM providers,
statistics, alerts, reprocessing, drafts waiting for a person, threads a person owns
and transactional mail.

Every `/v1` route needs `Authorization: Bearer <ADMIN_API_TOKEN>`. Errors are problem
documents (`application/problem+json`, RFC 9457).
"""


def create_app(
    settings: ServiceSettings, *, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    """Build the app; connections are opened by its lifespan, not here."""
    tracer = trace.get_tracer("mailroom_admin_api", tracer_provider=tracer_provider)
    metrics = Metrics.create()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database)
        producer = make_producer(settings.kafka, "admin-api")
        store = ProviderStateStore()
        reader = ProviderStateReader(settings.kafka, store)
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(engine.dispose)
            await producer.start()
            stack.push_async_callback(producer.stop)
            reader.start()
            stack.push_async_callback(reader.stop)
            app.state.resources = Resources(
                settings=settings,
                engine=engine,
                sessionmaker=make_sessionmaker(engine),
                producer=producer,
                provider_state=store,
                metrics=metrics,
                tracer=tracer,
            )
            log.info("admin_api.started")
            try:
                yield
            finally:
                app.state.resources = None
                log.info("admin_api.stopping")

    app = FastAPI(
        title="mailroom admin API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's built-in OpenTelemetry support makes the request spans. Request values
        # stay out of telemetry (logs off), and probes are not traced.
        telemetry={
            "tracer_provider": tracer_provider,
            "logs": False,
            "operation_spans": False,
            "exclude": _is_probe,
        },
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.resources = None
    install_problem_handlers(app)

    v1 = [
        tasks.router,
        corrections.router,
        handoffs.router,
        drafts.router,
        threads.router,
        dead_letters.router,
        providers.router,
        stats.router,
        transactional.router,
        alerts.router,
    ]
    for router in v1:
        # The token is checked first: nothing about a request is examined before that.
        app.include_router(
            router, dependencies=[Depends(require_token), Depends(reject_unknown_query)]
        )
    app.include_router(health.router)
    # The operator console (HTML, signed-in by session cookie; not in the OpenAPI document).
    install_console(app, settings.admin)

    if settings.admin.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.admin.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )
    app.add_middleware(PrometheusMiddleware, metrics=metrics)
    _install_openapi(app)
    return app


def _is_probe(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in ("/healthz", "/readyz", "/metrics")


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            # Problem is referenced by hand-written responses, so FastAPI does not list it.
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
