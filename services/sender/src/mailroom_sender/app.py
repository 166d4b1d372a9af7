"""Wiring: settings → engine, Kafka clients, the send path, the projector, health server."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from mailroom_common.db.session import make_engine
from mailroom_common.kafka import make_consumer, make_producer
from mailroom_common.logging import get_logger
from mailroom_common.topics import ALERTS, DEAD_LETTER, INBOUND, STATUS

from .health import HealthServer
from .metrics import SenderMetrics
from .projector import Projector, ProjectorRunner
from .redrive import RedriveSweep
from .redrive_logic import RedrivePolicy
from .sending import answer_modes, run_sender, smtp_config_from
from .settings import Settings

__all__ = ["Settings", "answer_modes", "run", "smtp_config_from"]

log = get_logger(__name__)


async def _run_projector(
    cfg: Settings,
    engine: object,
    metrics: SenderMetrics,
    stop: asyncio.Event,
    ready: dict[str, Callable[[], bool]],
) -> None:
    kafka = cfg.kafka
    consumer = make_consumer(kafka, "mailroom-projector", cfg.sender.projector_group_id)
    await consumer.start()
    try:
        runner = ProjectorRunner(
            consumer,
            Projector(engine, metrics=metrics),  # type: ignore[arg-type]
            metrics,
            [kafka.topic(t) for t in (INBOUND, STATUS, DEAD_LETTER, ALERTS)],
        )
        ready["projector"] = lambda: runner.ready
        log.info("projector.started")
        if not cfg.sender.redrive_enabled:
            await runner.run(stop)
            return
        await _project_and_redrive(cfg, engine, metrics, stop, runner)
    finally:
        await consumer.stop()


async def _project_and_redrive(
    cfg: Settings,
    engine: object,
    metrics: SenderMetrics,
    stop: asyncio.Event,
    runner: ProjectorRunner,
) -> None:
    """The projector plus the redrive sweep, which lives where the projection is fresh."""
    s = cfg.sender
    producer = make_producer(cfg.kafka, "mailroom-redrive")
    await producer.start()
    try:
        sweep = RedriveSweep(
            engine,  # type: ignore[arg-type]
            producer,
            cfg.kafka,
            RedrivePolicy(after_s=s.redrive_after_s, max_redrives=s.redrive_max),
            batch=s.redrive_batch,
            metrics=metrics,
            caught_up=lambda: runner.caught_up,
        )
        task = asyncio.create_task(sweep.run(stop, s.redrive_interval_s))
        log.info("redrive.started", after_s=s.redrive_after_s, max=s.redrive_max)
        try:
            await runner.run(stop)
        finally:
            # A sweep cut short rolls back; what it had published is republished later.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await producer.stop()


async def run(cfg: Settings, mode: str, stop: asyncio.Event | None = None) -> None:
    """Run the sender, the projector or both until SIGTERM/SIGINT (or ``stop`` is set)."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
    metrics = SenderMetrics.create()
    ready: dict[str, Callable[[], bool]] = {}
    wanted = {"send": ["sender"], "project": ["projector"], "all": ["sender", "projector"]}[mode]
    health = HealthServer(
        cfg.sender.health_host,
        cfg.sender.health_port,
        metrics.registry,
        lambda: len(ready) == len(wanted) and all(f() for f in ready.values()),
    )
    engine = make_engine(cfg.database)
    await health.start()
    try:
        parts: list[Callable[..., Coroutine[Any, Any, None]]] = []
        if "sender" in wanted:
            parts.append(run_sender)
        if "projector" in wanted:
            parts.append(_run_projector)
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(p(cfg, engine, metrics, stop, ready)) for p in parts
        ]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        del done
    finally:
        await health.stop()
        await engine.dispose()
