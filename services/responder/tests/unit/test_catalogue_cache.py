"""The catalogue cache's state machine, with a scripted loader at the unit boundary.

No mail is decided before the first load succeeds; failures are retried with backoff and
alerted once per streak; a failed refresh keeps the last good catalogue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from mailroom_common.config import CommonSettings, KafkaSettings
from mailroom_common.events import AlertSeverity, InboundEmail, Route, TaskStatus, encode_event
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.service import build_service, readiness
from mailroom_responder.settings import GroqSettings, ResponderSettings
from mailroom_responder.store import CATALOGUE_LOAD_FAILED, CatalogueCache, CatalogueRetry

HANG = object()  # a load that never answers (PostgreSQL holding a lock, a dead network)


class ScriptedLoader:
    """Each call waits for the test to hand it an outcome: a Catalogue, an exception, HANG."""

    def __init__(self) -> None:
        self.outcomes: asyncio.Queue[Any] = asyncio.Queue()
        self.calls = 0
        self.waiting = asyncio.Event()

    def give(self, *outcomes: Any) -> None:
        for outcome in outcomes:
            self.outcomes.put_nowait(outcome)

    async def __call__(self) -> Catalogue:
        self.calls += 1
        self.waiting.set()
        outcome = await self.outcomes.get()
        self.waiting.clear()
        if outcome is HANG:
            await asyncio.Event().wait()
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, Catalogue)
        return outcome


class Sleeps:
    """Records the backoff waits; yields to the loop instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def make_cache(
    fakes: dict[str, Any], retry: CatalogueRetry | None = None, publish: Any = None
) -> tuple[CatalogueCache, ScriptedLoader, Any, Sleeps]:
    loader = ScriptedLoader()
    publisher = fakes["RecordingPublisher"]()
    sleeps = Sleeps()
    cache = CatalogueCache(
        loader,
        retry=retry or CatalogueRetry(load_timeout_s=5.0, initial_s=1.0, max_s=30.0),
        publish=publish or publisher.emit,
        sleep=sleeps,
    )
    return cache, loader, publisher, sleeps


def alerts(publisher: Any) -> list[Any]:
    return [e for e in publisher.of("alert") if e.kind == CATALOGUE_LOAD_FAILED]


# ------------------------------------------------------------------ first load


async def test_get_waits_for_the_first_load_through_failures(
    fakes: dict[str, Any], catalogue: Catalogue
) -> None:
    cache, loader, publisher, sleeps = make_cache(fakes)
    waiter = asyncio.create_task(cache.get())
    starter = asyncio.create_task(cache.load_until_ready())
    assert readiness(None, cache)["missing"] == ["faq", "catalogue"]

    for _ in range(3):  # PostgreSQL refuses three times
        await settle()
        assert not waiter.done(), "a mail was decided before the catalogue loaded"
        assert not cache.ready
        loader.give(ConnectionRefusedError(111, "Connect call failed"))
    await settle()
    assert cache.failures == 3
    assert sleeps.delays == [1.0, 2.0, 4.0]  # backoff doubles
    assert not waiter.done()

    loader.give(catalogue)
    got = await asyncio.wait_for(waiter, 1)
    await asyncio.wait_for(starter, 1)
    assert got is catalogue
    assert cache.ready
    assert (cache.failures, cache.failing_since, cache.last_error) == (0, None, None)
    assert loader.calls == 4

    # One alert for the whole streak: critical, saying nothing is decided meanwhile.
    (alert,) = alerts(publisher)
    assert alert.severity is AlertSeverity.CRITICAL
    assert alert.details["phase"] == "first_load"
    assert "ConnectionRefusedError" in alert.details["error"]
    assert "no mail is decided" in alert.message
    # The alert is keyed by its kind on mail.alerts like every other responder alert.
    (emission,) = [e for e in publisher.events if e.event is alert]
    assert emission.key == CATALOGUE_LOAD_FAILED


async def test_many_waiters_are_released_together(
    fakes: dict[str, Any], catalogue: Catalogue
) -> None:
    cache, loader, _, _ = make_cache(fakes)
    waiters = [asyncio.create_task(cache.get()) for _ in range(5)]
    starter = asyncio.create_task(cache.load_until_ready())
    await settle()
    assert not any(w.done() for w in waiters)
    loader.give(catalogue)
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [catalogue] * 5
    await starter
    assert loader.calls == 1  # waiters do not load; the start-up task does


async def test_a_load_that_hangs_times_out_and_is_retried(
    fakes: dict[str, Any], catalogue: Catalogue
) -> None:
    cache, loader, publisher, sleeps = make_cache(
        fakes, CatalogueRetry(load_timeout_s=0.05, initial_s=0.5, max_s=0.5)
    )
    loader.give(HANG, HANG, catalogue)
    await asyncio.wait_for(cache.load_until_ready(), 2)
    assert cache.current is catalogue
    assert loader.calls == 3
    assert sleeps.delays == [0.5, 0.5]  # capped
    (alert,) = alerts(publisher)
    assert "TimeoutError" in alert.details["error"]


async def test_an_empty_catalogue_read_successfully_counts_as_loaded(
    fakes: dict[str, Any],
) -> None:
    cache, loader, publisher, _ = make_cache(fakes)
    loader.give(Catalogue())
    with capture_logs() as logs:
        await cache.load_until_ready()
    assert await asyncio.wait_for(cache.get(), 1) == Catalogue()
    assert cache.ready
    assert readiness(None, cache)["missing"] == ["faq"]
    assert alerts(publisher) == []
    assert any(e["event"] == "catalogue.empty" and e["log_level"] == "warning" for e in logs)


async def test_a_failing_alert_never_stops_the_retries(
    fakes: dict[str, Any], catalogue: Catalogue
) -> None:
    async def broken_publish(emission: Any) -> None:
        raise RuntimeError("Kafka is down too")

    cache, loader, _, _ = make_cache(fakes, publish=broken_publish)
    loader.give(OSError("db down"), catalogue)
    await asyncio.wait_for(cache.load_until_ready(), 1)
    assert cache.current is catalogue
    assert cache.alerts_sent == 0


def test_backoff_doubles_up_to_the_cap() -> None:
    retry = CatalogueRetry(initial_s=1.0, max_s=5.0)
    assert [retry.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_settings_reject_a_cap_below_the_first_wait() -> None:
    with pytest.raises(ValueError, match="catalogue_retry_max_s"):
        ResponderSettings(catalogue_retry_initial_s=10, catalogue_retry_max_s=1)


# ------------------------------------------------------------------ refresh


async def test_a_refresh_before_the_first_load_leaves_loading_to_the_start_up_task(
    fakes: dict[str, Any],
) -> None:
    cache, loader, _, _ = make_cache(fakes)
    await cache.refresh()
    assert loader.calls == 0
    assert not cache.ready


async def test_failed_refreshes_keep_the_last_good_catalogue_and_alert_once_per_streak(
    fakes: dict[str, Any], catalogue: Catalogue
) -> None:
    cache, loader, publisher, sleeps = make_cache(fakes)
    loader.give(catalogue)
    await cache.load_until_ready()
    loaded_at = cache.loaded_at

    # Streak 1: three failed refreshes.
    loader.give(OSError("db down"), TimeoutError(), OSError("db down"))
    with capture_logs() as logs:
        for _ in range(3):
            await cache.refresh()
    assert cache.current is catalogue
    assert await cache.get() is catalogue  # mail is still decided, with the last good one
    assert cache.loaded_at == loaded_at
    assert cache.failures == 3
    assert readiness(None, cache)["missing"] == ["faq"]  # still ready
    (alert,) = alerts(publisher)
    assert alert.severity is AlertSeverity.CRITICAL
    assert alert.details["phase"] == "refresh"
    assert alert.details["kept_products"] == len(catalogue.products)
    assert "last good" in alert.message
    levels = [e["log_level"] for e in logs if e["event"] == "catalogue.load_failed"]
    assert levels == ["error", "warning", "warning"]
    assert sleeps.delays == []  # a refresh retries at the next timer tick, not in a loop

    # Recovery: the new catalogue replaces the old one and the recovery is logged.
    fresh = Catalogue(catalogue.products[:1])
    loader.give(fresh)
    with capture_logs() as logs:
        await cache.refresh()
    assert cache.current is fresh
    assert cache.failures == 0
    (recovered,) = [e for e in logs if e["event"] == "catalogue.recovered"]
    assert recovered["failures"] == 3
    assert recovered["phase"] == "refresh"

    # Streak 2 is a new streak: alerted again, once.
    loader.give(OSError("db down again"), OSError("db down again"))
    await cache.refresh()
    await cache.refresh()
    assert cache.current is fresh
    assert len(alerts(publisher)) == 2


async def test_status_reports_what_is_missing(fakes: dict[str, Any], catalogue: Catalogue) -> None:
    cache, loader, _, _ = make_cache(fakes)
    starter = asyncio.create_task(cache.load_until_ready())
    loader.give(OSError("db down"))
    await settle()
    report = readiness(None, cache)
    assert report["ready"] is False
    assert report["catalogue"]["loaded"] is False
    assert report["catalogue"]["failures"] == 1
    assert "db down" in report["catalogue"]["last_error"]
    assert report["catalogue"]["failing_since"] is not None
    loader.give(catalogue)
    await asyncio.wait_for(starter, 1)
    status = cache.status()
    assert status["loaded"] is True
    assert status["products"] == len(catalogue.products)
    assert status["attempts"] == 2


# ------------------------------------------------------------------ the inbound path


async def test_the_inbound_agent_decides_only_after_the_first_load(
    fakes: dict[str, Any], catalogue: Catalogue, make_email: Callable[..., InboundEmail]
) -> None:
    svc = build_service(
        settings=ResponderSettings(web_enabled=False),
        groq=GroqSettings(api_key="test-key"),
        kafka=KafkaSettings(topic_prefix="unit."),
        common=CommonSettings(),
        database=None,
        client=fakes["ScriptedLlm"]("unused"),
    )
    publisher = fakes["RecordingPublisher"]()
    svc.runtime.publisher = publisher
    cache, loader, _, _ = make_cache(fakes)
    svc.runtime.catalogue = cache.get
    svc.app.finalize()
    svc.app.conf.store = "memory://"
    svc.app.flow_control.resume()
    email = make_email("¿Cómo calza el jean mom? ¿La tela es rígida?")  # for the LLM
    starter = asyncio.create_task(cache.load_until_ready())

    async with svc.agents.inbound.test_context() as agent:
        put = asyncio.create_task(agent.put(encode_event(email), key=email.thread_key.encode()))
        loader.give(OSError("db down"))
        await asyncio.sleep(0.05)
        assert not put.done()
        assert publisher.events == []  # not even PROCESSING: nothing decided yet
        loader.give(catalogue)
        event = await asyncio.wait_for(put, 2)
        assert agent.results[event.message.offset] == Route.CATALOGUE.value
    await starter
    statuses = [s.status for s in publisher.of("status_changed")]
    assert statuses[0] is TaskStatus.PROCESSING
    # The LLM request, and its holding check (holding.py).
    assert [t.name for t, _, _ in publisher.requests] == [
        "mail.llm-requests",
        "mail.responder.holding",
    ]
    request = publisher.requests[0][2]
    assert "Jean Mom" in request.context
