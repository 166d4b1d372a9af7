"""Two worker processes share one breaker/limiter: the provider's partition owner's."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest

from .conftest import wait_for

pytestmark = pytest.mark.integration

QUESTIONS = [
    # Questions the catalogue templates cannot answer: each one is an LLM call.
    "¿De qué tela es el jean mom?",
    "¿La remera básica es de algodón? ¿Encoge al lavarla?",
    "¿Cómo calza la remera básica negra?",
]


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


async def _all_replied(cluster: Any, mails: list[Any], timeout: float) -> None:
    async def done() -> bool:
        return all("replied" in cluster.statuses(m.message_key) for m in mails)

    await wait_for(done, timeout, "every email replied", 0.5)


def _assert_answered_once(cluster: Any, mails: list[Any]) -> None:
    for mail in mails:
        replies = [
            o
            for o in cluster.of("mail.outbound", message_key=mail.message_key)
            if o.kind.value == "reply"
        ]
        assert len({r.event_id for r in replies}) == 1, mail.message_key


async def test_two_workers_stay_under_the_limit_together(
    cluster: Any, make_mail: Any, offline_llm: Any
) -> None:
    env = {
        "RESPONDER_RATE_LIMIT_REQUESTS": "4",
        "RESPONDER_RATE_LIMIT_WINDOW_S": "8",
        "RESPONDER_RATE_LIMIT_MARGIN_S": "0.2",
    }
    workers = [cluster.worker(**env), cluster.worker(**env)]
    for w in workers:
        w.start()
    for w in workers:
        await w.wait_ready()
    healths = await cluster.wait_assigned()
    assert all(h["assigned"] for h in healths)  # both workers really share the work
    mails = [make_mail(QUESTIONS[i % 3]) for i in range(12)]
    for mail in mails:
        await cluster.send(mail)
    await _all_replied(cluster, mails, 60)
    stats = await offline_llm.stats()
    assert stats["requests_total"] == 12
    assert max_in_window(stats["accepted"], 8.0) <= 4
    _assert_answered_once(cluster, mails)


async def test_killing_the_state_owner_loses_nothing(
    cluster: Any, make_mail: Any, offline_llm: Any
) -> None:
    env = {
        "RESPONDER_RATE_LIMIT_REQUESTS": "3",
        "RESPONDER_RATE_LIMIT_WINDOW_S": "16",
        "RESPONDER_RATE_LIMIT_MARGIN_S": "0.2",
    }
    workers = [cluster.worker(**env), cluster.worker(**env)]
    for w in workers:
        w.start()
    for w in workers:
        await w.wait_ready()
    healths = await cluster.wait_assigned()
    owner_index = next(i for i, h in enumerate(healths) if h["owns_provider"])
    owner, survivor = workers[owner_index], workers[1 - owner_index]
    mails = [make_mail(QUESTIONS[i % 3]) for i in range(9)]
    for mail in mails:
        await cluster.send(mail)

    async def first_window_used() -> bool:
        replied = sum("replied" in cluster.statuses(m.message_key) for m in mails)
        return replied >= 3

    await wait_for(first_window_used, 30, "three replies")
    await asyncio.sleep(1.5)  # offsets committed; the owner now holds the 4th request
    owner.kill()
    killed_at = time.time()

    async def taken_over() -> bool:
        h = await survivor.health()
        return bool(h and h["owns_provider"] and not h["rebalancing"])

    await wait_for(taken_over, 40, "survivor owns the provider")
    await _all_replied(cluster, mails, 70)
    stats = await offline_llm.stats()
    # The survivor recovered the limiter window from the changelog: had it started from
    # scratch it would have sent 3 requests right after taking over, 6 inside 16 s.
    assert max_in_window(stats["accepted"], 16.0) <= 3
    assert min(t for t in stats["accepted"] if t > killed_at) >= stats["accepted"][0] + 16.0
    assert stats["requests_total"] == 9  # nothing called twice
    _assert_answered_once(cluster, mails)
    assert Counter(s for m in mails for s in cluster.statuses(m.message_key))["replied"] >= 9
