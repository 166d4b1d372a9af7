"""A worker on the real broker answers FAQ, catalogue and handoff mail."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_common.db.models import ConversationTurn

from .conftest import wait_for

pytestmark = pytest.mark.integration


async def test_routes_on_the_real_broker(
    cluster: Any, make_mail: Any, offline_llm: Any, seeded_database: str
) -> None:
    worker = cluster.worker()
    worker.start()
    await worker.wait_ready()
    await cluster.wait_assigned()
    faq = make_mail("¿Hacen envíos a Córdoba?")
    product = make_mail("¿De qué tela es el jean mom?")  # not for the templates: the LLM
    handoff = make_mail("Quiero hablar con una persona")
    for mail in (faq, product, handoff):
        await cluster.send(mail)

    async def finished() -> bool:
        return all(
            any(s in ("replied", "handoff") for s in cluster.statuses(m.message_key))
            for m in (faq, product, handoff)
        )

    await wait_for(finished, 30, "three outcomes")
    stats = await offline_llm.stats()
    assert stats["requests_total"] == 1  # only the product question used the LLM
    (reply,) = cluster.of("mail.outbound", message_key=product.message_key)
    assert "Jean Mom" in reply.body_text
    assert "45000" in reply.body_text
    assert reply.prompt_tokens
    assert reply.completion_tokens
    assert reply.cost_usd
    assert reply.to == product.from_address
    (faq_reply,) = cluster.of("mail.outbound", message_key=faq.message_key)
    assert faq_reply.route.value == "faq"
    assert cluster.statuses(handoff.message_key) == ["processing", "handoff"]

    # Turns are persisted too (in batches).
    engine = create_async_engine(seeded_database)
    try:

        async def persisted() -> list[Any]:
            async with AsyncSession(engine) as session:
                rows = await session.exec(
                    select(ConversationTurn).where(
                        ConversationTurn.thread_key == product.thread_key
                    )
                )
                roles = sorted(r.role for r in rows.all())
                return roles if len(roles) >= 2 else None  # batches may land one by one

        assert await wait_for(persisted, 20, "turns in PostgreSQL") == ["customer", "shop"]
    finally:
        await engine.dispose()
