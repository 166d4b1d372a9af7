"""ASGI middleware recording Prometheus samples per HTTP request.

Request spans come from FastAPI's own OpenTelemetry support (configured in the app
factory); this middleware only counts and times requests for ``/metrics``.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailroom_admin_api.metrics import Metrics

__all__ = ["PrometheusMiddleware"]


class PrometheusMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            # The route template, not the path: ids must not explode label cardinality.
            route: Any = scope.get("route")
            template = str(getattr(route, "path", "unmatched"))
            self.metrics.requests.labels(method=method, route=template, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=template).observe(
                time.perf_counter() - started
            )
