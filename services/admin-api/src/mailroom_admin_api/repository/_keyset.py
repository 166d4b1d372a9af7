"""The keyset condition shared by every newest-first listing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from mailroom_admin_api.pagination import Cursor

__all__ = ["after_cursor"]


def after_cursor(at_col: Any, id_col: Any, cursor: Cursor) -> ColumnElement[bool]:
    """Rows strictly after ``cursor`` in (at DESC, id DESC) order."""
    # Spelled out instead of a row-value comparison so the planner can use the
    # timestamp indexes and the intent is obvious.
    return or_(at_col < cursor.at, and_(at_col == cursor.at, id_col < cursor.id))
