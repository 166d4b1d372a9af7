"""The conversation history kept per thread in a Faust table (pure helpers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailroom_responder.prompt import Turn

__all__ = ["append_turn", "turns_from_value", "turns_to_value"]

MAX_STORED_CHARS = 1000


def turns_from_value(value: Any) -> list[Turn]:
    if not isinstance(value, list):
        return []
    return [
        Turn(str(item.get("role", "customer")), str(item.get("text", "")))
        for item in value
        if isinstance(item, dict)
    ]


def turns_to_value(turns: Sequence[Turn]) -> list[dict[str, str]]:
    return [{"role": t.role, "text": t.text} for t in turns]


def append_turn(turns: Sequence[Turn], turn: Turn, keep: int) -> list[Turn]:
    """The last ``keep`` turns after adding ``turn`` (text capped, so the table stays small)."""
    if keep <= 0:
        return []
    capped = Turn(turn.role, turn.text[:MAX_STORED_CHARS])
    return [*turns, capped][-keep:]
