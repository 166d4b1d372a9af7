"""The offline commands' loop over JSON lines: one result line per input line, always.

Used by ``explain`` and ``check_reply``: a line that is not JSON, or that ``handle``
fails on, gets ``{"id": …, "error": …}`` and the run goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["run_lines"]


def run_lines(lines: TextIO, out: TextIO, handle: Callable[[Any], dict[str, Any]]) -> int:
    """Write ``handle(obj)`` for every line of ``lines``; returns the number of error lines."""
    errors = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            result: dict[str, Any] = {"id": None, "error": f"line {number}: not JSON ({exc.msg})"}
        else:
            try:
                result = handle(obj)
            except Exception as exc:  # one bad line must not stop the run
                line_id = obj.get("id") if isinstance(obj, dict) else None
                result = {"id": line_id, "error": f"{type(exc).__name__}: {exc}"}
        errors += "error" in result
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return errors
