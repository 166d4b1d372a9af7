"""Which tasks wait for a person, and for how long (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import column

from mailroom_admin_api.pagination import Cursor
from mailroom_admin_api.repository._keyset import after_cursor
from mailroom_admin_api.waiting import WAITING_STATUSES, age_seconds, waiting_statuses

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_no_status_asked_means_every_waiting_status() -> None:
    assert waiting_statuses(()) == WAITING_STATUSES == ("handoff", "human_owned")


def test_asked_statuses_are_deduplicated_in_canonical_order() -> None:
    assert waiting_statuses(["human_owned", "human_owned"]) == ("human_owned",)
    assert waiting_statuses(["human_owned", "handoff"]) == ("handoff", "human_owned")


def test_a_status_that_does_not_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="sent"):
        waiting_statuses(["handoff", "sent"])


def test_age_is_seconds_since_waiting_began() -> None:
    assert age_seconds(T0, T0 + timedelta(minutes=90, seconds=1.5)) == 5401.5


def test_age_is_never_negative_when_the_event_clock_is_ahead() -> None:
    assert age_seconds(T0 + timedelta(seconds=3), T0) == 0.0


def _sql(ascending: bool) -> str:
    cursor = Cursor(at=T0, id=uuid.UUID(int=1))
    clause = after_cursor(column("at"), column("id"), cursor, ascending=ascending)
    return str(clause.compile())


def test_keyset_condition_in_both_directions() -> None:
    assert _sql(ascending=False) == "at < :at_1 OR at = :at_2 AND id < :id_1"
    assert _sql(ascending=True) == "at > :at_1 OR at = :at_2 AND id > :id_1"
