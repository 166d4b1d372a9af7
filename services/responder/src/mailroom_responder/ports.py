"""The ports through which the provider desks and the holding timer reach Kafka and their
Faust tables, and the keys they share in the done tables. Implemented by ``runtime.py``;
tests drive the desks through fakes of these.
"""

from __future__ import annotations

from typing import Protocol

from mailroom_common.events import InboundEmail
from mailroom_common.topics import TopicSpec
from mailroom_responder.messages import HoldingCheck, LlmRequest
from mailroom_responder.outcomes import Emission
from mailroom_responder.provider import ProviderState

__all__ = ["DonePort", "Publisher", "StatePort", "done_key", "holding_key"]


def done_key(email: InboundEmail) -> str:
    """Key of one run of an email in the llm-done table.

    An operator's reprocess is a new run of the same email (``reprocess_of_trace_id`` set,
    as in the outcome event ids): it must be answered, not skipped as a duplicate.
    """
    run = email.reprocess_of_trace_id
    return f"{email.message_key}|{run}" if run else email.message_key


def holding_key(email: InboundEmail) -> str:
    """Key in the llm-done table once this run's holding reply went out (holding.py)."""
    return f"holding|{done_key(email)}"


class StatePort(Protocol):
    def load(self) -> ProviderState: ...

    async def save(self, state: ProviderState) -> None:
        """Store the state durably (the changelog write is flushed) before returning."""


class DonePort(Protocol):
    def is_done(self, key: str) -> bool: ...

    async def mark_done(self, key: str) -> None: ...


class Publisher(Protocol):
    async def emit(self, emission: Emission) -> None: ...

    async def emit_request(
        self, topic: TopicSpec, key: str, request: LlmRequest | HoldingCheck
    ) -> None: ...

    async def flush(self) -> None: ...
