"""The provider desk with in-memory ports: back-pressure, retries, dead letters, safety."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mailroom_common.events import InboundEmail, OutboundKind, TaskStatus
from mailroom_common.topics import LLM_REQUESTS, RETRY_TOPICS
from mailroom_responder.breaker import BreakerConfig, BreakerPhase
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.desk import Desk, DeskConfig
from mailroom_responder.inbound import InboundConfig, handle_inbound
from mailroom_responder.limiter import LimiterConfig
from mailroom_responder.llm_client import ErrorKind, LlmCallError, LlmResult
from mailroom_responder.messages import LlmRequest
from mailroom_responder.provider import ProviderConfig


def err(status: int, headers: dict[str, str] | None = None) -> LlmCallError:
    kind = (
        ErrorKind.RATE_LIMITED
        if status == 429
        else ErrorKind.TRANSIENT
        if status >= 500
        else ErrorKind.PERMANENT
    )
    return LlmCallError(kind, f"Http{status}", f"status {status}", status=status, headers=headers)


class Harness:
    def __init__(self, fakes: dict[str, Any], faq: FaqBook, *script: Any, **cfg: Any) -> None:
        self.clock = fakes["FakeClock"]()
        self.publisher = fakes["RecordingPublisher"]()
        self.state = fakes["MemoryState"]()
        self.done = fakes["MemoryDone"]()
        self.llm = fakes["ScriptedLlm"](*script, clock=self.clock)
        self.yield_now = False
        provider = ProviderConfig(
            BreakerConfig(3, cfg.pop("cooldown_s", 120.0), 60.0),
            LimiterConfig(cfg.pop("rpm", 8), 60.0, None, 0.5, 60.0),
        )
        self.desk = Desk(
            cfg=DeskConfig(provider=provider, inbound_topic="mail.inbound", **cfg),
            client=self.llm,
            state=self.state,
            done=self.done,
            publisher=self.publisher,
            faq=faq,
            clock=self.clock,
            sleep=self.clock.sleep,
            catalogue=self._catalogue,
        )
        self.live_catalogue: Catalogue = fakes["catalogue"]

    async def _catalogue(self) -> Catalogue:
        return self.live_catalogue

    async def run(self, request: LlmRequest) -> str:
        return await self.desk.process(request, lambda: self.yield_now)

    def statuses(self) -> list[TaskStatus]:
        return [e.status for e in self.publisher.of("status_changed")]


@pytest.fixture
def request_for(
    make_email: Callable[..., InboundEmail], faq: FaqBook, catalogue: Catalogue
) -> Callable[..., LlmRequest]:
    def build(text: str = "¿Cómo calza el jean mom? ¿La tela es rígida?", **kw: Any) -> LlmRequest:
        email = make_email(text, **kw)
        result = handle_inbound(
            email, history=[], faq=faq, catalogue=catalogue, cfg=InboundConfig()
        )
        assert result.request is not None
        return result.request

    return build


GOOD = "Hola, el Jean Mom cuesta $45000 y quedan 3 en talle 38. Saludos."


async def test_success_reply_with_usage_and_cost(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = Harness(fakes, faq, GOOD)
    request = request_for()
    assert await h.run(request) == "replied"
    (out,) = h.publisher.of("outbound_email")
    assert out.kind is OutboundKind.REPLY
    assert out.to == "ana@customer.test"
    assert out.body_text == GOOD
    assert out.model == h.llm.model
    assert (out.prompt_tokens, out.completion_tokens) == (100, 20)
    assert out.cost_usd == pytest.approx(100 * 0.59e-6 + 20 * 0.79e-6)
    (replied,) = h.publisher.of("status_changed")
    assert replied.status is TaskStatus.REPLIED
    assert replied.latency_ms == 12.5
    assert h.done.is_done(request.inbound.message_key)
    # The slot was saved before the call, and the provider state published.
    assert h.state.saves >= 2
    assert h.publisher.of("provider_state")[-1].requests_in_window == 1


async def test_duplicate_is_not_answered_twice(fakes: Any, faq: FaqBook, request_for: Any) -> None:
    h = Harness(fakes, faq, GOOD)
    request = request_for()
    await h.run(request)
    assert await h.run(request) == "duplicate"
    assert len(h.llm.calls) == 1
    assert len(h.publisher.of("outbound_email")) == 1


async def test_429_waits_without_using_an_attempt(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    headers = {
        "retry-after": "5",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "4.5s",
    }
    h = Harness(fakes, faq, err(429, headers), GOOD)
    assert await h.run(request_for()) == "replied"
    assert len(h.llm.calls) == 2
    assert h.llm.call_times[1] - h.llm.call_times[0] >= 5.0
    assert TaskStatus.RETRYING not in h.statuses()
    assert h.publisher.of("status_changed")[-1].attempts == 0
    assert h.publisher.requests == []


async def test_transient_error_goes_to_the_delay_topic(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = Harness(fakes, faq, err(503), retry_delays_s=(1.0, 2.0, 3.0))
    request = request_for()
    assert await h.run(request) == "retry"
    ((topic, key, retry),) = h.publisher.requests
    assert topic == RETRY_TOPICS[0][1]
    assert key == request.inbound.thread_key
    assert retry.attempt == 1
    assert retry.first_failure_at == retry.last_failure_at
    assert retry.due_at is not None
    assert retry.due_at.timestamp() == pytest.approx(h.clock.now + 1.0)
    assert h.statuses() == [TaskStatus.RETRYING]
    assert not h.done.is_done(request.inbound.message_key)
    # The second retry uses the second topic and the second delay.
    h.publisher.requests.clear()
    assert await h.run(retry) == "retry"
    ((topic2, _, retry2),) = h.publisher.requests
    assert topic2 == RETRY_TOPICS[1][1]
    assert retry2.attempt == 2
    assert retry2.first_failure_at == retry.first_failure_at


async def test_fifth_failure_dead_letters_with_one_holding_reply(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = Harness(fakes, faq, err(502))
    request = request_for().model_copy(update={"attempt": 4})
    assert await h.run(request) == "dead_letter"
    (dead,) = h.publisher.of("dead_letter")
    assert dead.attempts == 5
    assert dead.stage == "responder"
    assert dead.error_class == "Http502"
    assert dead.original["message_key"] == request.inbound.message_key
    assert dead.original_topic == "mail.inbound"
    alerts = [a for a in h.publisher.of("alert") if a.kind == "dead_letter"]
    assert len(alerts) == 1
    (holding,) = h.publisher.of("outbound_email")
    assert holding.kind is OutboundKind.HOLDING
    assert holding.to == "ana@customer.test"
    assert "persona" in holding.body_text
    assert h.statuses()[-1] is TaskStatus.DEAD_LETTER
    assert h.done.is_done(request.inbound.message_key)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
async def test_permanent_error_dead_letters_at_once(
    status: int, fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = Harness(fakes, faq, err(status), holding_reply=False)
    assert await h.run(request_for()) == "dead_letter"
    assert h.publisher.of("dead_letter")[0].attempts == 1
    assert h.publisher.of("outbound_email") == []  # holding reply switched off
    assert h.state.value.breaker.phase is BreakerPhase.CLOSED


async def test_breaker_opens_blocks_then_probes(fakes: Any, faq: FaqBook, request_for: Any) -> None:
    h = Harness(fakes, faq, err(500), err(500), err(500), GOOD, cooldown_s=30.0)
    for _ in range(3):
        assert await h.run(request_for()) == "retry"
    assert h.state.value.breaker.phase is BreakerPhase.OPEN
    opened_at = h.clock.now
    assert [a.kind for a in h.publisher.of("alert")] == ["breaker_opened"]
    assert await h.run(request_for()) == "replied"
    assert len(h.llm.calls) == 4
    assert h.llm.call_times[3] >= opened_at + 30.0  # nothing reached it while open
    assert h.state.value.breaker.phase is BreakerPhase.CLOSED
    states = [s.breaker_state for s in h.publisher.of("provider_state")]
    assert "open" in states
    assert states[-1] == "closed"


async def test_yield_hands_a_waiting_request_back(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = Harness(fakes, faq, GOOD, rpm=1)
    await h.run(request_for())
    h.yield_now = True
    second = request_for()
    assert await h.run(second) == "yielded"
    ((topic, key, again),) = h.publisher.requests
    assert topic == LLM_REQUESTS
    assert key == "groq"
    assert again == second
    assert len(h.llm.calls) == 1


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("El Jean Mom cuesta $39999.", "wrong_price"),
        ("Te damos 50% de descuento en el Jean Mom.", "promise"),
        ("As an AI language model, I think the Jean Mom fits well.", "leak"),
        ("   ", "empty_reply"),
    ],
)
async def test_a_blocked_reply_is_asked_once_more_then_handed_off(
    reply: str, problem: str, fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = Harness(fakes, faq, reply)
    assert await h.run(request_for()) == "handoff"
    # Asked twice: the second time with the blocked answer and the reasons.
    first, second = h.llm.calls
    assert second[: len(first)] == first
    assert second[len(first)]["role"] == "assistant"
    assert problem in second[-1]["content"]
    statuses = h.publisher.of("status_changed")
    assert statuses[-1].status is TaskStatus.HANDOFF
    assert (statuses[-1].reason or "").startswith("reply_blocked: ")
    assert problem in (statuses[-1].reason or "")
    (ack,) = h.publisher.of("outbound_email")
    assert ack.kind is OutboundKind.HANDOFF_ACK


async def test_a_blocked_reply_rewritten_right_is_sent(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = Harness(fakes, faq, "El Jean Mom cuesta $39999.", GOOD)
    assert await h.run(request_for()) == "replied"
    assert len(h.llm.calls) == 2
    (out,) = h.publisher.of("outbound_email")
    assert (out.kind, out.body_text) == (OutboundKind.REPLY, GOOD)
    (status,) = h.publisher.of("status_changed")
    assert status.status is TaskStatus.REPLIED


async def test_markdown_is_stripped(fakes: Any, faq: FaqBook, request_for: Any) -> None:
    h = Harness(fakes, faq, "**Hola!** El *Jean Mom* cuesta $45000.")
    await h.run(request_for())
    (out,) = h.publisher.of("outbound_email")
    assert out.body_text == "Hola! El Jean Mom cuesta $45000."


def test_ok_result_type() -> None:
    assert LlmResult("a", "m", 1, 2, 3.0).headers == {}
