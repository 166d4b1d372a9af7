"""The keyset condition shared by every listing (newest first, or oldest first)."""

from __future__ import annotations

import operator
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from mailroom_admin_api.pagination import Cursor

__all__ = ["after_cursor"]


def after_cursor(
    at_col: Any, id_col: Any, cursor: Cursor, *, ascending: bool = False
) -> ColumnElement[bool]:
    """Rows strictly after ``cursor`` in (at DESC, id DESC) order, or in (at ASC, id ASC)
    order when ``ascending``."""
    # Spelled out instead of a row-value comparison so the planner can use the
    # timestamp indexes and the intent is obvious.
    beyond = operator.gt if ascending else operator.lt
    return or_(beyond(at_col, cursor.at), and_(at_col == cursor.at, beyond(id_col, cursor.id)))
