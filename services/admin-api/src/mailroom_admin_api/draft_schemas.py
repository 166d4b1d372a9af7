"""Request and response bodies of ``/v1/drafts`` (part of the public contract of /v1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DraftActionOut", "DraftApproveIn", "DraftOut", "DraftPage"]

_DRAFT_EXAMPLE: dict[str, Any] = {
    "message_key": "<CAF1234@mail.example.com>",
    "kind": "reply",
    "task_id": "3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11",
    "to": "ana@example.com",
    "subject": "Re: ¿Hacen envíos a Rosario?",
    "reply_text": "Hola Ana, sí: enviamos a todo el país en 3 a 5 días hábiles.",
    "route": "faq",
    "folder": "Drafts",
    "created_at": "2026-11-27T10:00:02Z",
    "customer_from": "ana@example.com",
    "customer_subject": "¿Hacen envíos a Rosario?",
    "customer_text": "Hola, ¿hacen envíos a Rosario?",
}


class DraftOut(BaseModel):
    """A reply waiting in the mailbox's Drafts folder for a person."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DRAFT_EXAMPLE]})

    message_key: str = Field(description="The task's message key (use it to approve/discard).")
    kind: Literal["reply", "handoff_ack"] = Field(
        description="A reply, or the acknowledgement of mail handed to a person."
    )
    task_id: uuid.UUID | None = Field(default=None, description="The task, once projected.")
    to: str
    subject: str | None = None
    reply_text: str = Field(description="The drafted text, as it would be sent.")
    route: str | None = None
    folder: str | None = Field(default=None, description="The Drafts folder it was filed in.")
    created_at: datetime
    customer_from: str | None = Field(
        default=None, description="Who wrote the mail it answers (from the task)."
    )
    customer_subject: str | None = Field(
        default=None, description="The subject of the customer's mail (from the task)."
    )
    customer_text: str | None = Field(
        default=None,
        description="The customer's new text (quotes removed), as stored with the task; plain "
        "text, never HTML. Null when the task holds no original.",
    )


class DraftPage(BaseModel):
    """A page of pending drafts, newest first; pass ``next_cursor`` as ``cursor`` for more."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_DRAFT_EXAMPLE], "next_cursor": None}]}
    )

    items: list[DraftOut]
    next_cursor: str | None = Field(default=None, description="Null on the last page.")


class DraftApproveIn(BaseModel):
    """Optional: the text to send instead of the drafted one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"body_text": "Hola Ana, sí: enviamos a Rosario en 3 días hábiles."}]
        },
    )

    body_text: str | None = Field(
        default=None,
        min_length=1,
        max_length=20_000,
        pattern=r"^[^\x00]*\S[^\x00]*$",
        description="The edited reply (plain text); the drafted text when omitted.",
    )


class DraftActionOut(BaseModel):
    """The decision was handed to the sender (``mail.draft-actions``); it acts on it once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message_key": "<CAF1234@mail.example.com>",
                    "action": "approve",
                    "event_id": "0b7f6c1e-3f5e-4d0a-9d7c-2a1b3c4d5e6f",
                    "edited": False,
                }
            ]
        }
    )

    message_key: str
    action: Literal["approve", "discard"]
    event_id: uuid.UUID = Field(description="The DraftAction event's id.")
    edited: bool = Field(description="Whether an edited text replaces the drafted one.")
