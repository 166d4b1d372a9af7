"""Bodies of ``/v1/tasks/{task_id}/correction`` and the corrections figures of ``/v1/stats``
(part of the public contract of /v1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CorrectableRoute", "CorrectionIn", "CorrectionOut", "RouteCorrections"]

# The routes a person can say an email should have taken: the four the router chooses
# from, and "ignored" (it should not have been answered at all).
CorrectableRoute = Literal["faq", "catalogue", "llm", "handoff", "ignored"]

Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s\x00]+$")]

_CORRECTION_IN_EXAMPLE: dict[str, Any] = {
    "route": "faq",
    "intent": "shipping",
    "product_skus": [],
    "note": "asks how long delivery takes, not about her own order",
}

_CORRECTION_EXAMPLE: dict[str, Any] = {
    "task_id": "3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11",
    "message_key": "<CAF1234@mail.example.com>",
    "route": "faq",
    "intent": "shipping",
    "product_skus": [],
    "note": "asks how long delivery takes, not about her own order",
    "decided_route": "handoff",
    "route_changed": True,
    "corrected_by": "operator",
    "corrected_at": "2026-11-27T11:00:00Z",
}


class CorrectionIn(BaseModel):
    """Where the email should have gone: the route, and optionally the FAQ topic (or other
    intent), the products it is about, and a note."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [_CORRECTION_IN_EXAMPLE]}
    )

    route: CorrectableRoute
    intent: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="For faq the FAQ entry (shipping, payments, returns, sizes, stock in the "
        "packaged FAQ); for catalogue price, stock, product or not_carried; for handoff the "
        "reason; for llm general (bench/data/routing/LABELS.md).",
    )
    product_skus: list[Sku] = Field(
        default_factory=list,
        max_length=20,
        description="SKUs of the catalogue the email is about, most important first; each "
        "must be in the catalogue.",
    )
    note: str | None = Field(
        default=None, max_length=2000, pattern=r"^[^\x00]*$", description="Free text."
    )


class CorrectionOut(BaseModel):
    """An operator's correction of a task's route, as stored."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CORRECTION_EXAMPLE]})

    task_id: uuid.UUID
    message_key: str
    route: str
    intent: str | None = None
    product_skus: list[str]
    note: str | None = None
    decided_route: str | None = Field(
        default=None,
        description="Where the router had sent the task when the correction was recorded "
        "(the routing decision's route, else the task's); null if it had not decided.",
    )
    route_changed: bool = Field(description="True when route differs from decided_route.")
    corrected_by: str
    corrected_at: datetime


class RouteCorrections(BaseModel):
    """Decisions of one route in the window, and how many a person corrected."""

    decided: int = Field(description="Tasks created in the window the router sent here.")
    corrected: int = Field(description="Of those, tasks with an operator's correction.")
    route_changed: int = Field(description="Of the corrected, those given another route.")
    share: float | None = Field(
        default=None, description="corrected / decided; null when nothing was decided."
    )
