"""Response bodies of ``GET /v1/handoffs`` (part of the public contract of /v1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["HandoffOut", "HandoffPage", "ResolveOut", "WaitingStatus"]

WaitingStatus = Literal["handoff", "human_owned"]

_HANDOFF_EXAMPLE: dict[str, Any] = {
    "task_id": "3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11",
    "message_key": "<CAF1234@mail.example.com>",
    "from_address": "ana@example.com",
    "subject": "Quiero devolver el pedido",
    "status": "handoff",
    "route": "handoff",
    "reason": "customer threatens a chargeback",
    "waiting_since": "2026-11-27T10:00:09Z",
    "age_s": 5391.0,
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
}


class HandoffOut(BaseModel):
    """A task waiting for a person."""

    model_config = ConfigDict(json_schema_extra={"examples": [_HANDOFF_EXAMPLE]})

    task_id: uuid.UUID
    message_key: str
    from_address: str | None = None
    subject: str | None = None
    status: WaitingStatus
    route: str | None = None
    reason: str | None = Field(
        default=None,
        description="Why a person has it: the newest hand-off (or ownership) reason, never "
        "the sender's report that the acknowledgement went out.",
    )
    waiting_since: datetime = Field(description="When the task reached its status.")
    age_s: float = Field(ge=0.0, description="Seconds since waiting_since, at request time.")
    trace_id: str | None = None


class HandoffPage(BaseModel):
    """A page of waiting tasks, oldest first; pass ``next_cursor`` as ``cursor`` for more."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_HANDOFF_EXAMPLE], "next_cursor": None, "total_waiting": 1}]
        }
    )

    items: list[HandoffOut]
    next_cursor: str | None = Field(default=None, description="Null on the last page.")
    total_waiting: int = Field(
        ge=0, description="Tasks matching the filters on all pages (the cursor aside)."
    )


class ResolveOut(BaseModel):
    """The resolution was published to ``mail.status``; the task becomes ``resolved`` once
    the projector applies it (within a second or so)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "task_id": "3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11",
                    "message_key": "<CAF1234@mail.example.com>",
                    "status": "resolved",
                    "previous_status": "handoff",
                    "event_id": "0b7f6c1e-3f5e-4d0a-9d7c-2a1b3c4d5e6f",
                    "resolved_by": "operator",
                }
            ]
        }
    )

    task_id: uuid.UUID
    message_key: str
    status: Literal["resolved"] = "resolved"
    previous_status: WaitingStatus
    event_id: uuid.UUID = Field(description="The StatusChanged event's id (one per task).")
    resolved_by: str
