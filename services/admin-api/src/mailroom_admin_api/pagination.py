"""Opaque keyset cursors over ``(timestamp, id)``, newest first.

A cursor is the position of the last row a page returned; the next page starts strictly
after it. Keyset pagination stays stable while new rows arrive, which offsets do not.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

__all__ = ["Cursor", "InvalidCursor", "Page", "decode_cursor", "encode_cursor"]

T = TypeVar("T")


class InvalidCursor(ValueError):
    """The cursor was not produced by this API (or was altered)."""


@dataclass(frozen=True, slots=True)
class Cursor:
    at: datetime
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(at: datetime, row_id: object) -> str:
    payload = json.dumps({"t": at.isoformat(), "i": str(row_id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(raw: str) -> Cursor:
    padded = raw + "=" * (-len(raw) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        at = datetime.fromisoformat(payload["t"])
        row_id = uuid.UUID(payload["i"])
        if at.tzinfo is None:
            raise ValueError("naive timestamp")
        at = at.astimezone(UTC)
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError) as exc:
        # UnicodeError and JSONDecodeError are ValueErrors too.
        raise InvalidCursor("cursor is not one this API issued") from exc
    return Cursor(at=at, id=row_id)
