"""Response bodies of ``/v1/threads`` (part of the public contract of /v1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OwnedThreadOut", "OwnedThreadPage", "ThreadReleaseOut"]

_THREAD_EXAMPLE: dict[str, Any] = {
    "thread": "<CAF1234@mail.example.com>",
    "reason": "handed off to a person",
    "message_key": "<CAF5678@mail.example.com>",
    "owned_since": "2026-11-27T10:00:09Z",
    "last_activity_at": "2026-11-29T16:20:00Z",
    "quiet_until": "2026-12-13T16:20:00Z",
    "ids": 3,
    "subject": "Re: Quiero devolver el pedido",
    "from_address": "ana@example.com",
}

_RELEASE_EXAMPLE: dict[str, Any] = {
    "thread": "<CAF1234@mail.example.com>",
    "released": 3,
    "released_at": "2026-11-30T09:00:00Z",
    "released_by": "operator",
}


class OwnedThreadOut(BaseModel):
    """A conversation a person owns: the bot answers none of its mail."""

    model_config = ConfigDict(json_schema_extra={"examples": [_THREAD_EXAMPLE]})

    thread: str = Field(
        description="The conversation's group id (a Message-ID; URL-encode it to release)."
    )
    reason: str = Field(
        description="Why a person owns it (the reason on the row with the newest activity)."
    )
    message_key: str = Field(
        description="The mail that made it owned, or its latest mail while owned."
    )
    owned_since: datetime = Field(description="Since when (the earliest unreleased row).")
    last_activity_at: datetime = Field(description="The newest mail in the owned thread.")
    quiet_until: datetime = Field(
        description="When it goes back to the bot unless more mail arrives: last_activity_at "
        "plus MAILROOM_THREAD_QUIET_DAYS."
    )
    ids: int = Field(ge=1, description="How many Message-IDs of the conversation it holds.")
    subject: str | None = Field(
        default=None, description="The subject of message_key's task; null when unknown."
    )
    from_address: str | None = Field(
        default=None, description="The sender of message_key's task; null when unknown."
    )
    task_id: uuid.UUID | None = Field(
        default=None, description="The task of that message (open it in /v1/tasks/{id})."
    )


class OwnedThreadPage(BaseModel):
    """A page of owned threads, most recent activity first; pass ``next_cursor`` as
    ``cursor`` for more."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_THREAD_EXAMPLE], "next_cursor": None, "total_owned": 1}]
        }
    )

    items: list[OwnedThreadOut]
    next_cursor: str | None = Field(default=None, description="Null on the last page.")
    total_owned: int = Field(ge=0, description="Threads owned now, on all pages.")


class ThreadReleaseOut(BaseModel):
    """What a release changed: the thread is the bot's again."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RELEASE_EXAMPLE]})

    thread: str
    released: int = Field(ge=1, description="Rows (Message-IDs) of the thread released.")
    released_at: datetime
    released_by: str = Field(description="Who released it (the admin token names nobody).")
