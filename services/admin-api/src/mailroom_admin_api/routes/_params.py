"""Query parameters several routes share, with their OpenAPI descriptions and examples."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query

from mailroom_admin_api.filters import as_utc
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.schemas import IsoDateTime

__all__ = [
    "CursorParam",
    "LimitParam",
    "SinceParam",
    "TextParam",
    "UntilParam",
    "message_id_path",
    "utc",
]

# PostgreSQL text cannot hold NUL; saying so in the schema keeps such input a 422.
NO_NUL = r"^[^\x00]*$"


def message_id_path(description: str) -> Any:
    """A path parameter holding a Message-ID-like key (URL-encoded: ``<``, ``@``, ``>``)."""
    return Path(
        min_length=1,
        max_length=998,
        pattern=r"^[^\x00]+$",
        description=description,
        examples=["<CAF1234@mail.example.com>"],
    )


CursorParam = Annotated[
    str | None,
    Query(
        max_length=512,
        description="Opaque cursor from the previous page's next_cursor.",
        examples=["eyJ0IjoiMjAyNi0xMS0yN1QxMDowMDowMSswMDowMCIsImkiOiIzZjBjIn0"],
    ),
]
LimitParam = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
SinceParam = Annotated[
    IsoDateTime | None,
    Query(
        description="Only rows at or after this instant (ISO 8601; naive means UTC).",
        examples=["2026-11-27T00:00:00Z"],
    ),
]
UntilParam = Annotated[
    IsoDateTime | None,
    Query(
        description="Only rows before this instant (ISO 8601; naive means UTC).",
        examples=["2026-11-28T00:00:00Z"],
    ),
]


def TextParam(description: str, example: str, max_length: int = 320) -> object:  # noqa: N802
    return Query(max_length=max_length, pattern=NO_NUL, description=description, examples=[example])


def utc(name: str, value: datetime | None) -> datetime | None:
    """``value`` in UTC, or a 422 problem when its offset leaves datetime's range."""
    try:
        return as_utc(value)
    except OverflowError:
        raise ProblemError(
            422,
            "Invalid request",
            f"{name}: the instant is out of range.",
            kind="validation",
        ) from None
