"""The classifier of unsure decisions against the real broker, a worker and the offline LLM.

The offline LLM answers classification requests from its scripted table (``/_admin/
classifier``); everything else it answers as usual, so the main model's path is unchanged.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from .conftest import wait_for

pytestmark = pytest.mark.integration

# The router sends these to the LLM, unsure (confidence < the 0.6 threshold).
SATURDAY = "Hola! tengo una duda con lo de la otra vez"  # the router is unsure
SUNDAY = "Hola! tengo otra duda con lo de la vez pasada"
HOLIDAYS = "Buenas, les escribo por lo de los feriados"
FAQ = ["¿Hacen envíos a Córdoba?", "¿Qué medios de pago aceptan?"]
SHIPPING = {
    "route": "faq",
    "faq_topic": "shipping",
    "products": [],
    "language": "es",
    "handoff_reason": None,
    "confidence": 0.9,
}


async def _replied(cluster: Any, key: str, timeout: float) -> Any:
    async def done() -> Any:
        found = [e for e in cluster.of("mail.status", message_key=key) if e.status == "replied"]
        return found[0] if found else None

    return await wait_for(done, timeout, f"replied for {key}")


def _decision(cluster: Any, key: str) -> Any:
    """The last decision the status events of ``key`` carried."""
    carried = [e.decision for e in cluster.of("mail.status", message_key=key) if e.decision]
    assert carried, cluster.of("mail.status", message_key=key)
    return carried[-1]


async def test_an_unsure_mail_takes_the_classifiers_route(
    cluster: Any, make_mail: Any, offline_llm: Any
) -> None:
    await offline_llm.script_classifier([{"contains": "otra vez", "answer": SHIPPING}])
    worker = cluster.worker()
    worker.start()
    await worker.wait_ready()
    await cluster.wait_assigned()
    unsure, faq = make_mail(SATURDAY), make_mail(FAQ[0])
    await cluster.send(unsure)
    await cluster.send(faq)
    await _replied(cluster, faq.message_key, 20)
    await _replied(cluster, unsure.message_key, 20)
    (reply,) = cluster.of("mail.outbound", message_key=unsure.message_key)
    assert (reply.route.value, reply.intent) == ("faq", "shipping")  # the router said llm
    assert cluster.statuses(unsure.message_key) == ["processing", "replied"]
    decision = _decision(cluster, unsure.message_key)
    assert decision.decided_by == "classifier"
    assert decision.evidence[0] == "decided_by=classifier"
    assert decision.reason.startswith("classifier: faq:shipping (router said llm/general")
    assert _decision(cluster, faq.message_key).decided_by == "router"
    stats = await offline_llm.stats()
    # One classification and nothing else: the FAQ answer needs no model at all.
    assert (stats["classifications"], stats["requests_total"]) == (1, 1)
    (call,) = stats["recent"]
    assert call["model"] == "llama-3.1-8b-instant"
    states = cluster.of("mail.provider-state", provider="groq:classifier")
    assert states
    assert states[-1].requests_in_window == 1
    assert not cluster.of("mail.provider-state", provider="groq")
    health = await worker.health()
    assert health is not None
    assert (health["owns_classifier"], health["classifier_breaker"]) == (True, "closed")


async def test_slow_or_failing_classifier_falls_back_in_time_and_faq_flows(
    cluster: Any, make_mail: Any, offline_llm: Any
) -> None:
    timeout_s = 2.0
    await offline_llm.script_classifier(
        [
            {"contains": "vez pasada", "latency_ms": 8000, "answer": SHIPPING},  # slow
            {"model": "llama-3.1-8b-instant", "status": 503},  # then down
        ]
    )
    worker = cluster.worker(
        RESPONDER_CLASSIFIER_TIMEOUT_S=str(timeout_s),
        RESPONDER_CLASSIFIER_BREAKER_FAILURE_THRESHOLD="2",
        RESPONDER_CLASSIFIER_BREAKER_COOLDOWN_S="120",
    )
    worker.start()
    await worker.wait_ready()
    await cluster.wait_assigned()

    # (b) slow: the router's decision stands once the deadline has passed.
    slow = make_mail(SUNDAY)
    sent_at = time.monotonic()
    await cluster.send(slow)
    # (c) FAQ mail sent while the classification is in flight is answered meanwhile.
    faq = make_mail(FAQ[1])
    await cluster.send(faq)
    await _replied(cluster, faq.message_key, 10)
    faq_at = time.monotonic()
    await _replied(cluster, slow.message_key, 15)
    slow_at = time.monotonic()
    assert faq_at < sent_at + timeout_s < slow_at
    assert slow_at - sent_at < timeout_s + 6, "the fallback waited longer than its deadline"
    (reply,) = cluster.of("mail.outbound", message_key=slow.message_key)
    assert (reply.route.value, reply.intent) == ("llm", "general")  # the router's route
    decision = _decision(cluster, slow.message_key)
    assert decision.decided_by == "fallback"
    assert "classifier_fallback=timeout" in decision.evidence

    # (b) failing, then open: a 503 → fallback, and that second failure opens its breaker;
    # the other unsure mail falls back without a call; FAQ mail is answered throughout.
    failing, closed_out = make_mail(SATURDAY), make_mail(HOLIDAYS)
    faq_again = make_mail(FAQ[0])
    for mail in (failing, closed_out, faq_again):
        await cluster.send(mail)
    for mail in (failing, closed_out, faq_again):
        await _replied(cluster, mail.message_key, 20)
    # Two inbound partitions: either may reach the classifier first.
    whys = {
        next(e for e in _decision(cluster, m.message_key).evidence if "fallback=" in e)
        for m in (failing, closed_out)
    }
    assert whys == {"classifier_fallback=provider_transient", "classifier_fallback=breaker_open"}
    for mail in (failing, closed_out):
        (reply,) = cluster.of("mail.outbound", message_key=mail.message_key)
        assert reply.route.value == "llm"
    opened = cluster.of("mail.provider-state", provider="groq:classifier", breaker_state="open")
    assert opened
    assert len(cluster.of("mail.alerts", kind="breaker_opened")) == 1
    stats = await offline_llm.stats()
    assert stats["classifications"] == 2  # slow + failing; none while the breaker is open
    assert stats["by_status"]["503"] == 1
    # The main model answered the three fallbacks; its breaker never saw the classifier's.
    main = [s for s in cluster.of("mail.provider-state", provider="groq")]
    assert main
    assert all(s.breaker_state == "closed" for s in main)
