"""Faust agents: thin loops that hand each event to the runtime.

* ``inbound``: mail.inbound → route; FAQ/handoff outcomes, or an LLM request.
* ``llm``: mail.llm-requests (key = provider) → the desk; the one caller of the provider.
* ``classify``: mail.classify-requests (key = classifier) → the classifier desk.
* ``retry-30s/60s/120s``: delay topics → back to mail.llm-requests when due.
* ``holding``: mail.responder.holding → one holding reply for an email still waiting.
* ``turns``: mail.outbound → the shop's replies into the history table.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

import faust

from mailroom_common.topics import (
    CLASSIFY_REQUESTS,
    HOLDING_CHECKS,
    INBOUND,
    LLM_REQUESTS,
    OUTBOUND,
    TopicSpec,
)
from mailroom_responder.runtime import RETRY_SPECS, Runtime

__all__ = ["Agents", "register_agents"]


class Agents:
    def __init__(self) -> None:
        self.inbound: Any
        self.llm: Any
        self.classify: Any
        self.holding: Any
        self.turns: Any
        self.retries: dict[str, Any] = {}


def _retry_agent(app: faust.App, runtime: Runtime, spec: TopicSpec) -> Any:
    name = "retry-" + spec.name.rsplit("-", 1)[-1]

    async def wait_and_forward(stream: AsyncIterable[Any]) -> AsyncIterable[str]:
        async for event in stream.events():  # type: ignore[attr-defined]
            yield await runtime.on_retry(event, spec)

    agent: Any = app.agent(runtime.topics[spec], name=name)(wait_and_forward)
    return agent


def register_agents(app: faust.App, runtime: Runtime) -> Agents:
    agents = Agents()

    async def inbound(stream: Any) -> AsyncIterable[str]:
        # Take no record before the catalogue's first load. Faust waits for a record it
        # has handed out (a rebalance, a shutdown) but hands back those still buffered.
        await runtime.catalogue()
        async for event in stream.events():
            yield await runtime.on_inbound(event)

    async def llm(stream: Any) -> AsyncIterable[str]:
        async for event in stream.events():
            yield await runtime.on_llm_request(event)

    async def classify(stream: Any) -> AsyncIterable[str]:
        await runtime.catalogue()  # the classifier decides with it too (as above)
        async for event in stream.events():
            yield await runtime.on_classify_request(event)

    async def holding(stream: Any) -> AsyncIterable[str]:
        async for event in stream.events():
            yield await runtime.on_holding(event)

    async def turns(stream: Any) -> AsyncIterable[bool]:
        async for event in stream.events():
            yield await runtime.on_outbound(event)

    agents.inbound = app.agent(runtime.topics[INBOUND], name="inbound")(inbound)
    agents.llm = app.agent(runtime.topics[LLM_REQUESTS], name="llm")(llm)
    agents.classify = app.agent(runtime.topics[CLASSIFY_REQUESTS], name="classify")(classify)
    agents.holding = app.agent(runtime.topics[HOLDING_CHECKS], name="holding")(holding)
    agents.turns = app.agent(runtime.topics[OUTBOUND], name="turns")(turns)
    for spec in RETRY_SPECS:
        agents.retries[spec.name] = _retry_agent(app, runtime, spec)
    return agents
