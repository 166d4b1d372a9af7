"""Fixtures for the responder's tests: a small catalogue, fakes for the desk's ports."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from mailroom_common.events import InboundEmail
from mailroom_common.topics import TopicSpec
from mailroom_responder.decision.catalogue import Catalogue, ProductInfo, VariantInfo
from mailroom_responder.decision.faq import FaqBook, load_faq
from mailroom_responder.faust_io import TableState
from mailroom_responder.llm_client import LlmCallError, LlmResult
from mailroom_responder.messages import LlmRequest
from mailroom_responder.outcomes import Emission
from mailroom_responder.provider import ProviderState
from mailroom_responder.service import Service


def _v(size: str, colour: str, price: str, stock: int) -> VariantInfo:
    return VariantInfo(size, colour, Decimal(price), "ARS", stock)


CATALOGUE = Catalogue(
    (
        ProductInfo.build(
            sku="JM-01",
            name="Jean Mom",
            category="Jeans",
            keywords="denim tiro alto",
            variants=(_v("38", "azul", "45000", 3), _v("40", "azul", "45000", 0)),
        ),
        ProductInfo.build(
            sku="JR-02",
            name="Jean Recto",
            category="Jeans",
            keywords="denim",
            variants=(_v("40", "negro", "42000", 5),),
        ),
        ProductInfo.build(
            sku="RB-01",
            name="Remera Básica",
            category="Remeras",
            keywords="algodon manga corta",
            variants=(
                _v("S", "blanco", "12500", 4),
                _v("M", "blanco", "12500", 0),
                _v("M", "negro", "12500", 7),
                _v("L", "negro", "12500", 2),
            ),
        ),
        ProductInfo.build(
            sku="CP-01",
            name="Campera Puffer",
            category="Camperas",
            keywords="abrigo invierno",
            variants=(_v("M", "verde", "98000", 1),),
        ),
    )
)


@pytest.fixture
def catalogue() -> Catalogue:
    return CATALOGUE


@pytest.fixture(scope="session")
def faq() -> FaqBook:
    return load_faq()


@pytest.fixture
def make_email() -> Callable[..., InboundEmail]:
    counter = iter(range(1, 1_000_000))

    def make(text: str, subject: str = "Consulta", **kw: Any) -> InboundEmail:
        n = next(counter)
        fields: dict[str, Any] = {
            "message_key": f"<m{n}@customer.test>",
            "thread_key": f"thread-{n}",
            "mailbox": "shop@mailroom.test",
            "message_id": f"<m{n}@customer.test>",
            "from_address": "ana@customer.test",
            "subject": subject,
            "text": text,
        }
        fields.update(kw)
        return InboundEmail(**fields)

    return make


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[Emission] = []
        self.requests: list[tuple[TopicSpec, str, LlmRequest]] = []
        self.flushes = 0

    async def emit(self, emission: Emission) -> None:
        self.events.append(emission)

    async def emit_request(self, topic: TopicSpec, key: str, request: LlmRequest) -> None:
        self.requests.append((topic, key, request))

    async def flush(self) -> None:
        self.flushes += 1

    def of(self, event_type: str) -> list[Any]:
        return [e.event for e in self.events if getattr(e.event, "event_type", "") == event_type]


class MemoryState:
    def __init__(self) -> None:
        self.value = ProviderState("groq")
        self.saves = 0

    def load(self) -> ProviderState:
        return self.value

    async def save(self, state: ProviderState) -> None:
        self.value = state
        self.saves += 1


class MemoryDone:
    def __init__(self) -> None:
        self.keys: set[str] = set()

    def is_done(self, key: str) -> bool:
        return key in self.keys

    async def mark_done(self, key: str) -> None:
        self.keys.add(key)


class ScriptedLlm:
    """Returns/raises the scripted items in order; the last one repeats."""

    model = "llama-3.3-70b-versatile"
    max_tokens = 150

    def __init__(self, *script: LlmResult | LlmCallError | str, clock: Any = None) -> None:
        self.script = list(script)
        self.calls: list[list[dict[str, str]]] = []
        self.call_times: list[float] = []
        self.clock = clock

    async def complete(self, messages: list[dict[str, str]]) -> LlmResult:
        self.calls.append(messages)
        if self.clock is not None:
            self.call_times.append(self.clock())
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, LlmCallError):
            raise item
        if isinstance(item, str):
            return LlmResult(item, self.model, 100, 20, 12.5, {})
        return item


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)


def wire_service(svc: Service, catalogue: Catalogue) -> RecordingPublisher:
    """A built service made ready for ``agent.test_context()``: every publisher a recording
    one, the provider state in its Faust table, a fixed live catalogue, memory stores."""
    publisher = RecordingPublisher()
    svc.runtime.publisher = publisher
    svc.runtime.desk.publisher = publisher
    svc.runtime.desk.state = TableState(svc.tables, "groq", publisher.flush)
    if svc.runtime.holding is not None:
        svc.runtime.holding.publisher = publisher

    async def live_catalogue() -> Catalogue:
        return catalogue

    svc.runtime.catalogue = live_catalogue
    svc.runtime.desk.catalogue = live_catalogue
    svc.app.finalize()
    svc.app.conf.store = "memory://"
    svc.app.flow_control.resume()
    return publisher


@pytest.fixture
def fakes() -> dict[str, Any]:
    return {
        "catalogue": CATALOGUE,
        "RecordingPublisher": RecordingPublisher,
        "MemoryState": MemoryState,
        "MemoryDone": MemoryDone,
        "ScriptedLlm": ScriptedLlm,
        "FakeClock": FakeClock,
        "wire_service": wire_service,
    }
