"""PostgreSQL adapters: the catalogue cache (read) and conversation turns (write)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.db.models import Category, ConversationTurn, Product, Variant
from mailroom_common.events import AlertSeverity
from mailroom_common.logging import get_logger
from mailroom_responder import outcomes
from mailroom_responder.decision.catalogue import Catalogue, ProductInfo, VariantInfo
from mailroom_responder.outcomes import Emission

__all__ = [
    "CATALOGUE_LOAD_FAILED",
    "CatalogueCache",
    "CatalogueRetry",
    "TurnWriter",
    "load_catalogue",
]

log = get_logger("mailroom_responder.store")


async def load_catalogue(engine: AsyncEngine) -> Catalogue:
    """Every active product with its category and variants."""
    async with AsyncSession(engine) as session:
        categories = {c.id: c.name for c in (await session.exec(select(Category))).all()}
        products = (await session.exec(select(Product).where(col(Product.active).is_(True)))).all()
        variants: dict[int, list[VariantInfo]] = defaultdict(list)
        for v in (await session.exec(select(Variant).where(col(Variant.active).is_(True)))).all():
            variants[v.product_id].append(
                VariantInfo(v.size, v.colour, v.price, v.currency, v.stock)
            )
    return Catalogue(
        tuple(
            ProductInfo.build(
                sku=p.sku,
                name=p.name,
                category=categories.get(p.category_id, ""),
                variants=tuple(variants.get(p.id or -1, ())),
                keywords=p.keywords,
                description=p.description,
            )
            for p in products
        )
    )


@dataclass(frozen=True, slots=True)
class CatalogueRetry:
    """How loads of the catalogue are bounded and retried (``RESPONDER_CATALOGUE_*``)."""

    load_timeout_s: float = 20.0
    initial_s: float = 1.0
    max_s: float = 30.0

    def delay(self, failures: int) -> float:
        """Wait after the ``failures``-th consecutive failure: initial, doubling, capped."""
        return float(min(self.max_s, self.initial_s * 2 ** max(failures - 1, 0)))


CATALOGUE_LOAD_FAILED = "catalogue_load_failed"
_ALERT_SEND_TIMEOUT_S = 10.0


class CatalogueCache:
    """The live catalogue; nothing is decided against it before its first load succeeds.

    * ``get`` (the inbound path) waits until the first load has succeeded; an empty but
      successfully read catalogue counts as loaded (with a warning).
    * ``load_until_ready`` (a start-up task) loads it, retrying with backoff while
      PostgreSQL is unreachable or too slow (``load_timeout_s``).
    * ``refresh`` (a timer) reloads it; a failed reload keeps the last good catalogue and
      the next tick tries again.

    The first failure of a streak (first load or refresh) logs an error and publishes one
    critical ``catalogue_load_failed`` alert; later failures of the same streak only log;
    the first success after a streak logs ``catalogue.recovered``.
    """

    def __init__(
        self,
        loader: Callable[[], Awaitable[Catalogue]],
        *,
        retry: CatalogueRetry | None = None,
        publish: Callable[[Emission], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._loader = loader
        self.retry = retry or CatalogueRetry()
        self._publish = publish
        self._clock = clock
        self._sleep = sleep
        self.current = Catalogue()
        self.loaded_at: float | None = None
        self.attempts = 0
        self.failures = 0  # consecutive, in the current streak
        self.failing_since: float | None = None
        self.last_error: str | None = None
        self.alerts_sent = 0
        self._loaded = asyncio.Event()
        self._lock = asyncio.Lock()
        self._waiting_logged = False

    @property
    def ready(self) -> bool:
        """True once a load has succeeded (and for good: later failures keep it)."""
        return self._loaded.is_set()

    async def get(self) -> Catalogue:
        """The catalogue, once the first load has succeeded; until then this waits."""
        if not self._loaded.is_set():
            if not self._waiting_logged:
                self._waiting_logged = True
                log.info("catalogue.waiting_for_first_load", failures=self.failures)
            await self._loaded.wait()
        return self.current

    async def load_until_ready(self) -> None:
        """Load until a load succeeds, waiting ``retry.delay(n)`` after the n-th failure."""
        while not self._loaded.is_set():
            if await self._attempt("first_load"):
                return
            if self._loaded.is_set():  # a concurrent refresh got there first
                return
            await self._sleep(self.retry.delay(self.failures))

    async def refresh(self) -> None:
        """Reload (timer). Before the first load succeeds ``load_until_ready`` owns loading."""
        if self._loaded.is_set():
            await self._attempt("refresh")

    def status(self) -> dict[str, Any]:
        """What /readyz and /healthz report."""
        now = self._clock()
        return {
            "loaded": self.ready,
            "products": len(self.current.products),
            "loaded_at": _iso(self.loaded_at),
            "age_s": round(now - self.loaded_at, 1) if self.loaded_at is not None else None,
            "attempts": self.attempts,
            "failures": self.failures,
            "failing_since": _iso(self.failing_since),
            "last_error": self.last_error,
        }

    async def _attempt(self, phase: str) -> bool:
        async with self._lock:
            self.attempts += 1
            started = self._clock()
            try:
                catalogue = await asyncio.wait_for(self._loader(), self.retry.load_timeout_s)
            except Exception as exc:  # any failure: keep what we have, retry
                if isinstance(exc, TimeoutError):
                    error = f"TimeoutError('no answer within {self.retry.load_timeout_s:g} s')"
                else:
                    error = repr(exc)[:300]
                await self._failed(phase, error)
                return False
            self._succeeded(phase, catalogue, self._clock() - started)
            return True

    async def _failed(self, phase: str, error: str) -> None:
        now = self._clock()
        self.failures += 1
        self.last_error = error
        first_of_streak = self.failures == 1
        if first_of_streak:
            self.failing_since = now
        # The first load retries after the backoff, a refresh at the next timer tick.
        retry_in = self.retry.delay(self.failures) if phase == "first_load" else None
        fields: dict[str, Any] = {
            "phase": phase,
            "failures": self.failures,
            "error": error,
            "retry_in_s": retry_in,
            "kept_products": len(self.current.products) if self.ready else None,
        }
        if not first_of_streak:
            log.warning("catalogue.load_failed", **fields)
            return
        log.error("catalogue.load_failed", **fields)
        if phase == "first_load":
            message = (
                "responder cannot load the catalogue from PostgreSQL; "
                "no mail is decided until it loads"
            )
        else:
            message = (
                "catalogue refresh from PostgreSQL failed; deciding with the last good "
                f"catalogue ({len(self.current.products)} products, loaded "
                f"{_iso(self.loaded_at)})"
            )
        await self._alert(
            outcomes.alert(
                None,
                CATALOGUE_LOAD_FAILED,
                message,
                severity=AlertSeverity.CRITICAL,
                details={
                    "phase": phase,
                    "error": error,
                    "failing_since": _iso(self.failing_since),
                    "last_loaded_at": _iso(self.loaded_at),
                    "kept_products": len(self.current.products) if self.ready else None,
                },
            )
        )

    async def _alert(self, emission: Emission) -> None:
        if self._publish is None:
            return
        try:
            await asyncio.wait_for(self._publish(emission), _ALERT_SEND_TIMEOUT_S)
        except Exception as exc:  # the alert is best effort, the retry is not
            log.warning("catalogue.alert_failed", error=repr(exc)[:300])
            return
        self.alerts_sent += 1

    def _succeeded(self, phase: str, catalogue: Catalogue, took_s: float) -> None:
        now = self._clock()
        if self.failures:
            log.info(
                "catalogue.recovered",
                phase=phase,
                failures=self.failures,
                down_s=round(now - (self.failing_since or now), 1),
                products=len(catalogue.products),
            )
        first = not self._loaded.is_set()
        was_empty = not self.current.products
        self.current = catalogue
        self.loaded_at = now
        self.failures = 0
        self.failing_since = None
        self.last_error = None
        self._loaded.set()
        if not catalogue.products and (first or not was_empty):
            log.warning("catalogue.empty", phase=phase)
        log.info(
            "catalogue.loaded",
            phase=phase,
            products=len(catalogue.products),
            took_s=round(took_s, 3),
            attempts=self.attempts,
        )


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


class TurnWriter:
    """Persists conversation turns in batches (the Faust table is the live copy).

    ``add`` only queues, so a database round trip per email never limits throughput;
    ``flush`` (a timer, and shutdown) writes what is queued in one transaction.
    """

    def __init__(self, engine: AsyncEngine, max_queued: int = 10_000) -> None:
        self._engine = engine
        # Plain rows, inserted with one Core statement: building ORM objects per email
        # cost more than routing it.
        self._queue: list[dict[str, str | None]] = []
        self._max_queued = max_queued

    async def add(
        self,
        *,
        thread_key: str,
        role: str,
        text: str,
        message_key: str | None,
        customer_address: str | None,
    ) -> None:
        if len(self._queue) >= self._max_queued:
            log.warning("history.queue_full", dropped_thread=thread_key)
            return
        self._queue.append(
            {
                "thread_key": thread_key,
                "role": role,
                "text": text,
                "message_key": message_key,
                "customer_address": customer_address,
            }
        )

    async def flush(self) -> None:
        batch, self._queue = self._queue, []
        if not batch:
            return
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(ConversationTurn), batch)
        except Exception as exc:  # history is best effort; the reply is not
            log.warning("history.persist_failed", turns=len(batch), error=repr(exc)[:300])
