"""Holding replies while the provider keeps an email waiting (holding.py), no servers:
the pure "is it time" rule, the timer with in-memory ports, the desk's dead letter after
one went out, the FAQ template, and the agents end to end through ``test_context``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailroom_common.config import CommonSettings, KafkaSettings
from mailroom_common.events import InboundEmail, OutboundKind, TaskStatus, encode_event
from mailroom_common.topics import HOLDING_CHECKS, LLM_REQUESTS
from mailroom_responder.breaker import BreakerConfig
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook, load_faq, parse_faq
from mailroom_responder.desk import Desk, DeskConfig
from mailroom_responder.faust_io import TableDone
from mailroom_responder.holding import (
    HoldingTimer,
    Verdict,
    check_for,
    holding_reply,
    queue_request,
    verdict,
)
from mailroom_responder.inbound import InboundConfig, handle_inbound
from mailroom_responder.limiter import LimiterConfig
from mailroom_responder.llm_client import ErrorKind, LlmCallError
from mailroom_responder.messages import HoldingCheck, LlmRequest, encode_request
from mailroom_responder.ports import holding_key
from mailroom_responder.provider import ProviderConfig
from mailroom_responder.service import Service, build_service
from mailroom_responder.settings import GroqSettings, ResponderSettings

START = 1_700_000_000.0
AFTER_S = 600.0


# ------------------------------------------------------------------ the rule (pure)


@pytest.mark.parametrize(
    ("now", "answered", "already_sent", "finishing", "expected"),
    [
        (START + 599.9, False, False, False, Verdict.WAIT),  # not waited long enough
        (START + 600.0, False, False, False, Verdict.SEND),  # exactly the delay
        (START + 5000.0, False, False, False, Verdict.SEND),  # long overdue: still once
        (START + 10.0, True, False, False, Verdict.ANSWERED),  # answered: no need to wait
        (START + 700.0, True, False, False, Verdict.ANSWERED),
        (START + 700.0, False, True, False, Verdict.ALREADY_SENT),  # never a second one
        (START + 700.0, True, True, False, Verdict.ANSWERED),
        (START + 700.0, False, False, True, Verdict.WAIT),  # the answer is going out now
    ],
)
def test_is_it_time_for_a_holding_reply(
    now: float, answered: bool, already_sent: bool, finishing: bool, expected: Verdict
) -> None:
    got = verdict(
        now=now,
        due_at=START + AFTER_S,
        answered=answered,
        already_sent=already_sent,
        finishing=finishing,
    )
    assert got is expected


# ------------------------------------------------------------------ fixtures


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@pytest.fixture
def request_for(
    make_email: Callable[..., InboundEmail], faq: FaqBook, catalogue: Catalogue
) -> Callable[..., LlmRequest]:
    def build(text: str = "¿De qué tela es el jean mom? ¿Cómo calza?", **kw: Any) -> LlmRequest:
        kw.setdefault("occurred_at", _at(START))
        result = handle_inbound(
            make_email(text, **kw), history=[], faq=faq, catalogue=catalogue, cfg=InboundConfig()
        )
        assert result.request is not None
        return result.request

    return build


class TimerHarness:
    def __init__(self, fakes: dict[str, Any], faq: FaqBook, **kw: Any) -> None:
        self.clock = fakes["FakeClock"](START)
        self.done = fakes["MemoryDone"]()
        self.publisher = fakes["RecordingPublisher"]()
        self.finishing: str | None = None
        self.yield_now = False
        self.on_sleep: Callable[[float], None] | None = None
        self.timer = HoldingTimer(
            done=self.done,
            publisher=self.publisher,
            faq=faq,
            clock=self.clock,
            sleep=self._sleep,
            finishing=lambda: self.finishing,
            hold_check_s=1.0,
            **kw,
        )

    async def _sleep(self, seconds: float) -> None:
        await self.clock.sleep(seconds)
        if self.on_sleep is not None:
            self.on_sleep(self.clock.now)

    async def run(self, check: HoldingCheck) -> str:
        return await self.timer.process(check, lambda: self.yield_now)

    def holdings(self) -> list[Any]:
        return self.publisher.of("outbound_email")


# ------------------------------------------------------------------ queueing


async def test_a_queued_request_comes_with_its_check(fakes: Any, request_for: Any) -> None:
    publisher = fakes["RecordingPublisher"]()
    request = request_for()
    await queue_request(publisher, request, after_s=AFTER_S)
    (t1, k1, queued), (t2, k2, check) = publisher.requests
    assert (t1, k1, queued) == (LLM_REQUESTS, "groq", request)
    assert (t2, k2) == (HOLDING_CHECKS, "groq")  # the desk's partition, the desk's worker
    assert check == check_for(request, AFTER_S)
    # Waiting is counted from when the email reached mail.inbound (this run of it).
    assert check.due_at == request.inbound.occurred_at + timedelta(seconds=AFTER_S)
    assert (check.recipient, check.language, check.route) == (
        request.recipient,
        "es",
        request.route,
    )


async def test_no_check_when_holding_replies_are_off(fakes: Any, request_for: Any) -> None:
    publisher = fakes["RecordingPublisher"]()
    await queue_request(publisher, request_for(), after_s=None)
    assert [t for t, _, _ in publisher.requests] == [LLM_REQUESTS]


# ------------------------------------------------------------------ the timer


async def test_a_waiting_email_gets_one_holding_reply_when_due(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = TimerHarness(fakes, faq)
    check = check_for(request_for(), AFTER_S)
    assert await h.run(check) == "sent"
    assert h.clock.now >= START + AFTER_S
    assert h.clock.now < START + AFTER_S + 1.0  # on time
    (holding,) = h.holdings()
    assert holding.kind is OutboundKind.HOLDING
    assert holding.keeps_status is TaskStatus.PROCESSING  # the task keeps waiting
    assert holding.to == "ana@customer.test"
    assert holding.body_text == faq.template("holding_wait", "es")
    assert "persona" not in holding.body_text  # the answer follows; no person promised
    assert holding.in_reply_to == check.inbound.message_id
    assert h.publisher.flushes == 1  # flushed before it is marked
    assert h.done.is_done(holding_key(check.inbound))
    # The same check again (redelivered after a crash, or a duplicate): nothing more.
    assert await h.run(check) == "already_sent"
    assert len(h.holdings()) == 1


async def test_an_email_answered_meanwhile_gets_none(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = TimerHarness(fakes, faq)
    check = check_for(request_for(), AFTER_S)
    h.on_sleep = lambda now: (
        h.done.keys.add(check.inbound.message_key) if now >= START + 42 else None
    )
    assert await h.run(check) == "answered"
    assert h.clock.now < START + 44  # it stopped waiting as soon as the answer was out
    assert h.holdings() == []


async def test_the_answer_going_out_now_is_waited_for(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = TimerHarness(fakes, faq)
    check = check_for(request_for(), AFTER_S)
    h.clock.now = START + AFTER_S + 5  # due, but the desk is emitting the answer
    h.finishing = check.inbound.message_key

    def answered(now: float) -> None:
        if now >= START + AFTER_S + 8:
            h.done.keys.add(check.inbound.message_key)
            h.finishing = None

    h.on_sleep = answered
    assert await h.run(check) == "answered"
    assert h.holdings() == []


async def test_english_mail_gets_it_in_english(fakes: Any, faq: FaqBook, request_for: Any) -> None:
    h = TimerHarness(fakes, faq)
    request = request_for("Hi, what fabric is the mom jean made of? How does it fit?")
    assert request.language == "en"
    assert await h.run(check_for(request, AFTER_S)) == "sent"
    (holding,) = h.holdings()
    assert holding.body_text == faq.template("holding_wait", "en")
    assert holding.body_text.startswith("Hello")


async def test_a_rebalance_hands_the_check_back(fakes: Any, faq: FaqBook, request_for: Any) -> None:
    h = TimerHarness(fakes, faq)
    check = check_for(request_for(), AFTER_S)
    h.yield_now = True
    assert await h.run(check) == "yielded"
    assert h.publisher.requests == [(HOLDING_CHECKS, "groq", check)]
    assert h.holdings() == []


async def test_switched_off_sends_nothing(fakes: Any, faq: FaqBook, request_for: Any) -> None:
    h = TimerHarness(fakes, faq, enabled=False)
    assert await h.run(check_for(request_for(), AFTER_S)) == "disabled"
    assert h.holdings() == []


# ------------------------------------------------------------------ the desk's dead letter


def _desk(fakes: dict[str, Any], faq: FaqBook, done: Any, publisher: Any) -> Desk:
    clock = fakes["FakeClock"]()

    async def catalogue() -> Catalogue:
        return Catalogue()

    error = LlmCallError(ErrorKind.TRANSIENT, "Http502", "status 502", status=502)
    return Desk(
        cfg=DeskConfig(
            provider=ProviderConfig(
                BreakerConfig(3, 120.0, 60.0), LimiterConfig(8, 60.0, None, 0.5, 60.0)
            ),
            inbound_topic="mail.inbound",
        ),
        client=fakes["ScriptedLlm"](error, clock=clock),
        state=fakes["MemoryState"](),
        done=done,
        publisher=publisher,
        faq=faq,
        clock=clock,
        sleep=clock.sleep,
        catalogue=catalogue,
    )


async def test_no_second_holding_reply_at_the_dead_letter(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    h = TimerHarness(fakes, faq)
    request = request_for().model_copy(update={"attempt": 4})
    assert await h.run(check_for(request, AFTER_S)) == "sent"
    desk = _desk(fakes, faq, h.done, h.publisher)
    assert await desk.process(request, lambda: False) == "dead_letter"
    assert [o.kind for o in h.holdings()] == [OutboundKind.HOLDING]  # the waiting one only
    assert h.publisher.of("status_changed")[-1].status is TaskStatus.DEAD_LETTER
    # And a check arriving after the dead letter finds the run done.
    assert await h.run(check_for(request, AFTER_S)) == "answered"


async def test_a_dead_letter_without_one_still_sends_its_holding_reply(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    done, publisher = fakes["MemoryDone"](), fakes["RecordingPublisher"]()
    request = request_for().model_copy(update={"attempt": 4})
    desk = _desk(fakes, faq, done, publisher)
    assert await desk.process(request, lambda: False) == "dead_letter"
    (holding,) = publisher.of("outbound_email")
    assert holding.keeps_status is None  # the task is dead-lettered: the sender keeps that
    assert holding.body_text == faq.template("holding", "es")


async def test_the_desk_says_which_run_it_is_finishing(
    fakes: Any, faq: FaqBook, request_for: Any
) -> None:
    seen: list[str | None] = []
    done, publisher = fakes["MemoryDone"](), fakes["RecordingPublisher"]()
    desk = _desk(fakes, faq, done, publisher)

    async def emit(emission: Any) -> None:
        seen.append(desk.finishing)

    publisher.emit = emit  # type: ignore[method-assign]
    request = request_for().model_copy(update={"attempt": 4})
    await desk.process(request, lambda: False)
    # Dead letter, alert, holding reply, status: while the run is being finished only.
    assert seen[-4:] == [request.inbound.message_key] * 4
    assert seen[0] is None  # the provider state saved before
    assert desk.finishing is None


# ------------------------------------------------------------------ the FAQ template


def test_a_faq_file_without_holding_wait_falls_back_to_holding() -> None:
    data = {
        "templates": {
            "handoff_ack": {"es": "Hola, te escribe una persona.", "en": "Hi, a person."},
            "holding": {"es": "Hola, una persona te contesta.", "en": "Hi, a person replies."},
        }
    }
    book = parse_faq(data)
    assert book.template("holding_wait", "es") == "Hola, una persona te contesta."
    assert load_faq().template("holding_wait", "es") != load_faq().template("holding", "es")
    with pytest.raises(ValueError, match="holding_wait"):
        parse_faq({"templates": {**data["templates"], "holding_wait": {"es": "solo es"}}})


def test_holding_reply_is_threaded_like_the_answer(faq: FaqBook, request_for: Any) -> None:
    check = check_for(request_for(), AFTER_S)
    emission = holding_reply(check, faq)
    assert emission.topic.name == "mail.outbound"
    assert emission.key == check.inbound.thread_key
    assert emission.event.subject == "Re: Consulta"  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the agents


@pytest.fixture
async def service(fakes: dict[str, Any], catalogue: Catalogue) -> tuple[Service, Any]:
    svc = build_service(
        settings=ResponderSettings(web_enabled=False, holding_after_s=30.0),
        groq=GroqSettings(api_key="test-key"),
        kafka=KafkaSettings(topic_prefix="unit."),
        common=CommonSettings(),
        database=None,
        client=fakes["ScriptedLlm"]("Es de denim rígido."),
    )
    assert svc.runtime.holding is not None
    return svc, fakes["wire_service"](svc, catalogue)


async def test_inbound_queues_the_check_and_the_holding_agent_sends_once(
    service: Any, make_email: Callable[..., InboundEmail]
) -> None:
    svc, publisher = service
    # The email reached mail.inbound a minute ago: with a 30 s delay the check is due.
    email = make_email(
        "¿De qué tela es el jean mom? ¿Cómo calza?",
        occurred_at=datetime.now(UTC) - timedelta(seconds=60),
    )
    async with svc.agents.inbound.test_context() as agent:
        await agent.put(encode_event(email), key=email.thread_key.encode())
    checks = [r for t, _, r in publisher.requests if t is HOLDING_CHECKS]
    assert len(checks) == 1
    assert checks[0].due_at == email.occurred_at + timedelta(seconds=30)
    async with svc.agents.holding.test_context() as agent:
        first = await agent.put(encode_request(checks[0]), key=b"groq")
        again = await agent.put(encode_request(checks[0]), key=b"groq")
        assert agent.results[first.message.offset] == "sent"
        assert agent.results[again.message.offset] == "already_sent"
    (holding,) = publisher.of("outbound_email")
    assert holding.kind is OutboundKind.HOLDING
    assert TableDone(svc.tables).is_done(holding_key(email))


async def test_a_bad_check_is_dead_lettered(service: Any) -> None:
    svc, publisher = service
    async with svc.agents.holding.test_context() as agent:
        await agent.put(b'{"kind":"holding_check"}', key=b"groq")
    (dead,) = publisher.of("dead_letter")
    assert dead.original_topic == "unit.mail.responder.holding"
