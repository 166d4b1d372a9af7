"""What the lifespan builds and the dependencies hand to the routes."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.metrics import Metrics
from mailroom_admin_api.provider_state import ProviderStateStore
from mailroom_admin_api.settings import ServiceSettings

__all__ = ["Resources"]


@dataclass(frozen=True, slots=True)
class Resources:
    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer
    provider_state: ProviderStateStore
    metrics: Metrics
    tracer: Tracer
