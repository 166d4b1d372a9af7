"""``python -m mailroom_common export-routing-corpus FILE``: corrected tasks as a corpus.

Reads every routing correction with its task's stored email and decision, turns each
into a corpus line (``routing_corpus.corpus_line``, pure) and writes them as JSONL, oldest
correction first. The file is written next to its final place and renamed over it, so a
reader never sees half a corpus and a failed export leaves the old file as it was. It
holds customers' mail: it is created readable by its owner only.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col

from mailroom_common.config import DatabaseSettings
from mailroom_common.db.models import EmailTask, RoutingCorrection
from mailroom_common.routing_corpus import CorrectedTask, Skip, corpus_line

__all__ = ["ExportError", "ExportSummary", "export_routing_corpus", "read_corrected"]

DRIVER = "postgresql+asyncpg"
CONNECT_TIMEOUT_S = 10.0


class ExportError(RuntimeError):
    """The export cannot be done; the message says why in a sentence."""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    written: int
    skipped: Counter[Skip]

    def line(self) -> str:
        skipped = sum(self.skipped.values())
        why = ", ".join(f"{reason.value}: {n}" for reason, n in sorted(self.skipped.items()))
        tail = f" ({why})" if why else ""
        return (
            f"routing corpus {self.path}: {self.written} corrected tasks written, "
            f"{skipped} skipped{tail}"
        )


def _shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable)"


async def read_corrected(url: str) -> list[CorrectedTask]:
    """Every correction with its task's email and decision, oldest correction first."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ExportError("DATABASE_URL is not a database URL") from None
    if parsed.drivername != DRIVER:
        raise ExportError(f"DATABASE_URL must start with {DRIVER}://, not {parsed.drivername}://")
    engine = create_async_engine(
        url, pool_size=1, connect_args={"timeout": CONNECT_TIMEOUT_S}, pool_pre_ping=False
    )
    c, t = RoutingCorrection, EmailTask
    stmt = (
        select(
            col(c.message_key),
            col(c.route),
            col(c.intent),
            col(c.product_skus),
            col(t.original),
            col(t.decision),
        )
        .select_from(c)
        .outerjoin(t, col(t.message_key) == col(c.message_key))
        .order_by(col(c.corrected_at), col(c.message_key))
    )
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
    except (SQLAlchemyError, OSError, asyncpg.PostgresError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"cannot read the database at {_shown_url(url)}: {first}") from exc
    finally:
        await engine.dispose()
    return [
        CorrectedTask(
            message_key=key,
            route=route,
            intent=intent,
            product_skus=tuple(skus or ()),
            original=original,
            decision=decision,
        )
        for key, route, intent, skus, original, decision in rows
    ]


def _write_atomically(path: Path, lines: Sequence[str]) -> None:
    target = path.resolve() if path.exists() else path.absolute()
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.writelines(f"{line}\n" for line in lines)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _check_writable(path: Path) -> None:
    # Before the database is read: a wrong path fails at once.
    parent = path.absolute().parent
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise ExportError(f"cannot write {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {path}: {parent} is not writable")


async def export_routing_corpus(path: Path, settings: DatabaseSettings) -> ExportSummary:
    """Write the corpus of corrected tasks to ``path``; what was written and skipped."""
    _check_writable(path)
    tasks = await read_corrected(settings.url.get_secret_value())
    lines: list[str] = []
    skipped: Counter[Skip] = Counter()
    for task in tasks:
        line = corpus_line(task)
        if isinstance(line, Skip):
            skipped[line] += 1
        else:
            lines.append(json.dumps(line, ensure_ascii=False))
    _write_atomically(path, lines)
    return ExportSummary(path=path, written=len(lines), skipped=skipped)
