"""PostgreSQL adapters: the catalogue cache (read) and conversation turns (write)."""

from __future__ import annotations

import time
from collections import defaultdict

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.db.models import Category, ConversationTurn, Product, Variant
from mailroom_common.logging import get_logger
from mailroom_responder.decision.catalogue import Catalogue, ProductInfo, VariantInfo

__all__ = ["CatalogueCache", "TurnWriter", "load_catalogue"]

log = get_logger("mailroom_responder.store")


async def load_catalogue(engine: AsyncEngine) -> Catalogue:
    """Every active product with its category and variants."""
    async with AsyncSession(engine) as session:
        categories = {c.id: c.name for c in (await session.exec(select(Category))).all()}
        products = (await session.exec(select(Product).where(col(Product.active).is_(True)))).all()
        variants: dict[int, list[VariantInfo]] = defaultdict(list)
        for v in (await session.exec(select(Variant))).all():
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


class CatalogueCache:
    """The live catalogue, reloaded periodically; a failed reload keeps the last one."""

    def __init__(self, engine: AsyncEngine, first_load_retry_s: float = 5.0) -> None:
        self._engine = engine
        self.current = Catalogue()
        self.loaded_at: float | None = None
        self._tried_at: float | None = None
        self._first_load_retry_s = first_load_retry_s

    async def get(self) -> Catalogue:
        """The cached catalogue; the first caller loads it (mail may arrive before the
        start-up task ran), retrying at most every few seconds while PostgreSQL is down."""
        if self.loaded_at is None and (
            self._tried_at is None or time.time() - self._tried_at >= self._first_load_retry_s
        ):
            await self.refresh()
        return self.current

    async def refresh(self) -> None:
        self._tried_at = time.time()
        try:
            catalogue = await load_catalogue(self._engine)
        except Exception as exc:  # a DB hiccup must not stop answering
            log.warning("catalogue.refresh_failed", error=repr(exc)[:300])
            return
        self.current = catalogue
        self.loaded_at = time.time()
        log.info("catalogue.loaded", products=len(catalogue.products))


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
