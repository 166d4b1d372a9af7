"""Owned threads without I/O: the quiet window, a listing item, a release's 404 (pure)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mailroom_admin_api.pagination import decode_cursor, encode_cursor
from mailroom_admin_api.repository.threads import OwnedThreadRow
from mailroom_admin_api.threads_logic import (
    DEFAULT_RELEASED_BY,
    owned_thread_out,
    quiet_until,
    quiet_window,
    thread_not_owned,
)

LAST = datetime(2026, 11, 29, 16, 20, tzinfo=UTC)


ROW = OwnedThreadRow(
    thread="<root@mail.example.com>",
    sort_key=uuid.UUID(hashlib.md5(b"<root@mail.example.com>", usedforsecurity=False).hexdigest()),
    reason="handed off to a person",
    message_key="<latest@mail.example.com>",
    owned_since=LAST - timedelta(days=2),
    last_activity_at=LAST,
    ids=3,
    subject="Re: Quiero devolver el pedido",
    from_address="ana@example.com",
)


def test_the_quiet_window_is_the_setting_in_days_fractions_included() -> None:
    assert quiet_window(14) == timedelta(days=14)
    assert quiet_window(0.5) == timedelta(hours=12)
    assert quiet_until(LAST, 14) == datetime(2026, 12, 13, 16, 20, tzinfo=UTC)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="positive"):
            quiet_window(bad)


def test_an_item_carries_the_row_and_when_it_goes_back_to_the_bot() -> None:
    out = owned_thread_out(ROW, 14)
    assert out.thread == "<root@mail.example.com>"
    assert (out.reason, out.message_key) == ("handed off to a person", "<latest@mail.example.com>")
    assert out.owned_since == LAST - timedelta(days=2)
    assert out.last_activity_at == LAST
    assert out.quiet_until == LAST + timedelta(days=14)
    assert out.ids == 3
    assert (out.subject, out.from_address) == ("Re: Quiero devolver el pedido", "ana@example.com")
    # A message without a task (not projected yet, or a colleague's reply): no subject.
    bare = owned_thread_out(replace(ROW, subject=None, from_address=None), 1.5)
    assert (bare.subject, bare.from_address) == (None, None)
    assert bare.quiet_until == LAST + timedelta(hours=36)


def test_the_tie_breaker_survives_the_shared_cursor() -> None:
    # md5(thread) as a UUID lets the (timestamp, UUID) cursor of every listing page threads.
    cursor = decode_cursor(encode_cursor(ROW.last_activity_at, ROW.sort_key))
    assert (cursor.at, cursor.id) == (ROW.last_activity_at, ROW.sort_key)


def test_a_thread_that_is_not_owned_is_a_404_problem() -> None:
    problem = thread_not_owned("<root@mail.example.com>")
    assert (problem.status, problem.type) == (404, "/problems/thread-not-owned")
    assert problem.detail is not None
    assert "<root@mail.example.com>" in problem.detail
    assert "already released" in problem.detail


def test_a_release_is_the_operators_like_a_correction() -> None:
    assert DEFAULT_RELEASED_BY == "operator"
