"""The responder's own records on ``mail.llm-requests``, the retry (delay) topics,
``mail.classify-requests`` and ``mail.responder.holding``.

Internal to this service (not in the shared contract): one LLM call to make, with the
prompt already built and everything needed to finish the email whatever happens; one
unsure decision for the classifier, with what the email needs to go on either way; or
one holding-reply check, with what a holding reply needs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mailroom_common.events import InboundEmail, Route

__all__ = [
    "ClassifyRequest",
    "HoldingCheck",
    "LlmRequest",
    "LlmRequestDecodeError",
    "decode_classify_request",
    "decode_holding_check",
    "decode_request",
    "encode_request",
]


class LlmRequestDecodeError(ValueError):
    """Bytes on an internal topic are not an LlmRequest this version understands."""


class LlmRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["llm_request"] = "llm_request"
    schema_version: Literal[1] = 1
    request_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    provider: str
    inbound: InboundEmail = Field(description="The email being answered, as received.")
    recipient: str
    language: Literal["es", "en"]
    route: Route
    intent: str
    messages: list[dict[str, str]]
    instructions: str = Field(description="Must never appear in the reply.")
    context: str = Field(description="Trusted data the reply may quote figures from.")
    estimated_tokens: int = Field(ge=0)
    attempt: int = Field(default=0, ge=0, description="Failed attempts so far.")
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    due_at: datetime | None = Field(default=None, description="Not before (delay topics).")
    gate_reasons: list[str] = Field(
        default_factory=list,
        description="Why the reply gate blocked the previous answer (set on the one retry).",
    )


class ClassifyRequest(BaseModel):
    """An email whose router decision was unsure, for the classifier
    (``mail.classify-requests``). The classifier's desk runs the router again (it is pure)
    for the fallback, so the decision itself need not travel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["classify_request"] = "classify_request"
    schema_version: Literal[1] = 1
    request_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    provider: str = Field(description="The classifier's provider key, e.g. 'groq:classifier'.")
    inbound: InboundEmail = Field(description="The email being answered, as received.")
    history: list[dict[str, str]] = Field(
        default_factory=list, description="The thread's turns before this email (role, text)."
    )
    asked_at: datetime
    deadline: datetime = Field(description="After this the router's decision stands.")


class HoldingCheck(BaseModel):
    """One queued LLM request's holding-reply check (``mail.responder.holding``, keyed by
    provider): due when its email has waited ``RESPONDER_HOLDING_AFTER_S``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["holding_check"] = "holding_check"
    schema_version: Literal[1] = 1
    provider: str
    inbound: InboundEmail = Field(description="The email being answered, as received.")
    recipient: str
    language: Literal["es", "en"]
    route: Route
    intent: str
    due_at: datetime = Field(description="When a holding reply is due if still unanswered.")


def encode_request(request: LlmRequest | ClassifyRequest | HoldingCheck) -> bytes:
    return request.model_dump_json().encode("utf-8")


def decode_request(raw: bytes | str) -> LlmRequest:
    try:
        return LlmRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise LlmRequestDecodeError(str(exc)) from exc


def decode_classify_request(raw: bytes | str) -> ClassifyRequest:
    try:
        return ClassifyRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise LlmRequestDecodeError(str(exc)) from exc


def decode_holding_check(raw: bytes | str) -> HoldingCheck:
    try:
        return HoldingCheck.model_validate_json(raw)
    except ValidationError as exc:
        raise LlmRequestDecodeError(str(exc)) from exc
