"""Readiness: can the API reach PostgreSQL and Kafka right now?"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["check_database", "check_kafka", "readiness"]


async def check_database(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def check_kafka(producer: AIOKafkaProducer) -> None:
    # A metadata round trip proves a broker answers; it sends no record.
    await producer.client.fetch_all_metadata()


async def _probe(check: Awaitable[None], timeout_s: float) -> str:
    try:
        await asyncio.wait_for(check, timeout_s)
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


async def readiness(
    engine: AsyncEngine, producer: AIOKafkaProducer, timeout_s: float
) -> dict[str, str]:
    """Each dependency's state: "ok", "timeout" or "error: <class>"; checked concurrently."""
    database, kafka = await asyncio.gather(
        _probe(check_database(engine), timeout_s),
        _probe(check_kafka(producer), timeout_s),
    )
    return {"database": database, "kafka": kafka}
