"""A small HTTP endpoint: /healthz (alive), /readyz (every mailbox connected), /metrics."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from mailroom_ingest.metrics import IngestMetrics
from mailroom_ingest.state import MailboxState

__all__ = ["HealthServer"]


class HealthServer:
    def __init__(
        self, states: Sequence[MailboxState], metrics: IngestMetrics, host: str, port: int
    ) -> None:
        self._states = states
        self._metrics = metrics
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics_view)
        return app

    async def _healthz(self, _request: web.Request) -> web.Response:
        # The event loop answered, and no worker has given up for good.
        failed = [s.name for s in self._states if s.mode.value == "failed"]
        body = {"status": "failed" if failed else "ok", "failed": failed}
        return web.json_response(body, status=503 if failed else 200)

    async def _readyz(self, _request: web.Request) -> web.Response:
        ready = all(s.ready for s in self._states)
        body = {"ready": ready, "mailboxes": [s.as_dict() for s in self._states]}
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics_view(self, _request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.render(), content_type="text/plain")

    async def start(self) -> None:
        runner = web.AppRunner(self._app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
