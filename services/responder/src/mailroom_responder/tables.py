"""Faust tables: their state recovers from changelog topics when a worker takes over.

* ``provider-state``: one key per provider ("groq"): the breaker and limiter. Written
  only by the agent of ``mail.llm-requests``; co-partitioned with it (3 partitions), so
  the worker owning the provider's partition owns its state.
* ``llm-done``: message keys already answered by that agent, so a redelivered request
  is not answered (or billed) twice; and ``holding|<run key>`` once that run's holding
  reply went out (written by the agent of ``mail.responder.holding``, co-partitioned).
* ``classifier-state`` and ``classify-done``: the same two for the classifier model
  (key ``"groq:classifier"``), written only by the agent of ``mail.classify-requests`` and
  co-partitioned with it; a done entry also holds the decision taken, so a redelivered
  request replays it instead of asking again.
* ``history``: the last turns per thread, co-partitioned with ``mail.inbound`` and
  ``mail.outbound`` (both keyed by thread, 6 partitions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from mailroom_common.topics import CLASSIFY_REQUESTS, INBOUND, LLM_REQUESTS

__all__ = ["Tables", "declare_tables"]


@dataclass(frozen=True, slots=True)
class Tables:
    provider_state: Any
    done: Any
    history: Any
    classifier_state: Any
    classify_done: Any


def declare_tables(app: faust.App) -> Tables:
    def table(name: str, partitions: int) -> Any:
        return app.Table(
            name,
            default=None,
            partitions=partitions,
            schema=faust.Schema(key_serializer="json", value_serializer="json"),
        )

    return Tables(
        provider_state=table("provider-state", LLM_REQUESTS.partitions),
        done=table("llm-done", LLM_REQUESTS.partitions),
        history=table("history", INBOUND.partitions),
        classifier_state=table("classifier-state", CLASSIFY_REQUESTS.partitions),
        classify_done=table("classify-done", CLASSIFY_REQUESTS.partitions),
    )
