"""Breaker, back-pressure, retries and dead letters against the real broker and offline LLM."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
import pytest

from .conftest import wait_for

pytestmark = pytest.mark.integration

QUESTION = "¿De qué tela es el jean mom?"  # the LLM answers it (no template does)


async def _final(cluster: Any, key: str, status: str, timeout: float) -> None:
    async def done() -> bool:
        return status in cluster.statuses(key)

    await wait_for(done, timeout, f"{status} for {key}")


async def test_breaker_opens_blocks_probes_and_closes(
    cluster: Any, make_mail: Any, offline_llm: Any
) -> None:
    await offline_llm.configure(fail_status=503, fail_count=3)
    worker = cluster.worker(RESPONDER_BREAKER_COOLDOWN_S="4")
    worker.start()
    await worker.wait_ready()
    await cluster.wait_assigned()
    mail = make_mail(QUESTION)
    await cluster.send(mail)

    async def opened() -> Any:
        states = cluster.of("mail.provider-state", breaker_state="open")
        return states[0] if states else None

    state = await wait_for(opened, 30, "breaker open")
    assert state.consecutive_failures == 3
    assert state.open_until is not None
    open_until = state.open_until.timestamp()
    # While open, nothing reaches the provider.
    while time.time() < open_until - 0.3:
        assert (await offline_llm.stats())["requests_total"] == 3
        await _sleep(0.25)
    await _final(cluster, mail.message_key, "replied", 20)
    stats = await offline_llm.stats()
    assert stats["by_status"] == {"200": 1, "503": 3}
    assert stats["accepted"][0] >= open_until - 0.05  # the one probe came after the cool-down
    phases = [s.breaker_state for s in cluster.of("mail.provider-state")]
    transitions = [b for a, b in itertools.pairwise(phases) if a != b]
    assert transitions == ["open", "half_open", "closed"]
    assert [a.kind for a in cluster.of("mail.alerts") if a.kind == "breaker_opened"] == [
        "breaker_opened"
    ]
    assert cluster.statuses(mail.message_key) == [
        "processing",
        "retrying",
        "retrying",
        "retrying",
        "replied",
    ]
    assert cluster.of("mail.status", message_key=mail.message_key)[-1].attempts == 3


async def test_429_waits_without_an_attempt_and_no_second_429(
    cluster: Any, make_mail: Any, offline_llm: Any
) -> None:
    await offline_llm.configure(rpm=1)
    # Use the provider's only slot of this minute before the worker exists.
    async with httpx.AsyncClient(base_url=offline_llm.base_url) as http:
        r = await http.post(
            "/openai/v1/chat/completions",
            headers={"Authorization": "Bearer x"},
            json={"model": "m", "messages": [{"role": "user", "content": "hola"}]},
        )
        assert r.status_code == 200
    primed_at = time.time()
    worker = cluster.worker()
    worker.start()
    await worker.wait_ready()
    await cluster.wait_assigned()
    mail = make_mail(QUESTION)
    await cluster.send(mail)

    async def limited() -> bool:
        return (await offline_llm.stats())["by_status"].get("429", 0) >= 1

    await wait_for(limited, 30, "a 429")
    await _final(cluster, mail.message_key, "replied", 75)
    stats = await offline_llm.stats()
    assert stats["by_status"] == {"200": 2, "429": 1}  # no second 429 in the window
    assert stats["accepted"][1] >= primed_at + 59.0
    assert cluster.statuses(mail.message_key) == ["processing", "replied"]
    assert cluster.of("mail.status", message_key=mail.message_key)[-1].attempts == 0
    assert any(s.next_free_at is not None for s in cluster.of("mail.provider-state"))


async def test_five_transient_failures_dead_letter_with_one_holding_reply(
    cluster: Any, make_mail: Any, offline_llm: Any
) -> None:
    await offline_llm.configure(fail_status=500, fail_count=50)
    worker = cluster.worker(RESPONDER_BREAKER_FAILURE_THRESHOLD="10")
    worker.start()
    await worker.wait_ready()
    await cluster.wait_assigned()
    mail = make_mail(QUESTION)
    await cluster.send(mail)
    await _final(cluster, mail.message_key, "dead_letter", 40)
    (dead,) = cluster.of("mail.dead-letter", message_key=mail.message_key)
    assert dead.attempts == 5
    assert dead.stage == "responder"
    assert dead.error_class == "InternalServerError"
    assert dead.original["message_key"] == mail.message_key
    assert dead.first_failure_at < dead.last_failure_at
    assert dead.original_topic == cluster.kafka.topic_prefix + "mail.inbound"
    assert len(cluster.of("mail.alerts", kind="dead_letter")) == 1
    outbound = cluster.of("mail.outbound", message_key=mail.message_key)
    assert [o.kind.value for o in outbound] == ["holding"]
    assert outbound[0].to == mail.from_address
    assert (await offline_llm.stats())["requests_total"] == 5
    assert cluster.statuses(mail.message_key).count("retrying") == 4


async def test_permanent_error_dead_letters_at_once(
    cluster: Any, make_mail: Any, offline_llm: Any
) -> None:
    await offline_llm.configure(permanent_status=401)
    worker = cluster.worker()
    worker.start()
    await worker.wait_ready()
    await cluster.wait_assigned()
    mail = make_mail(QUESTION)
    await cluster.send(mail)
    await _final(cluster, mail.message_key, "dead_letter", 20)
    (dead,) = cluster.of("mail.dead-letter", message_key=mail.message_key)
    assert dead.attempts == 1
    assert dead.error_class == "AuthenticationError"
    assert "retrying" not in cluster.statuses(mail.message_key)
    assert [o.kind.value for o in cluster.of("mail.outbound", message_key=mail.message_key)] == [
        "holding"
    ]
    assert (await offline_llm.stats())["requests_total"] == 1


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
