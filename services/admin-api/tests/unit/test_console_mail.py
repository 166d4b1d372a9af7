"""The Mail page's filter form read into the TaskFilter of GET /v1/tasks (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from mailroom_admin_api.console.messages_mail import MAIL_MESSAGES
from mailroom_admin_api.console.routes.mail import MailQuery, task_filter
from mailroom_admin_api.filters import TaskFilter


def test_an_empty_form_filters_nothing() -> None:
    assert task_filter(MailQuery()) == (TaskFilter(), [])


def test_every_field_becomes_the_filter_the_api_uses() -> None:
    q = MailQuery(
        status="sent",
        route="faq",
        sender=" ana@example.com ",
        subject=" pedido ",
        since="2026-11-27",
        until="2026-11-28",
    )
    flt, errors = task_filter(q)
    assert errors == []
    assert flt == TaskFilter(
        statuses=("sent",),
        route="faq",
        sender="ana@example.com",
        subject="pedido",
        since=datetime(2026, 11, 27, tzinfo=UTC),
        # The "to" day is included: the filter ends at the start of the next day.
        until=datetime(2026, 11, 29, tzinfo=UTC),
    )
    assert q.as_query() == {
        "status": "sent",
        "route": "faq",
        "sender": " ana@example.com ",
        "subject": " pedido ",
        "since": "2026-11-27",
        "until": "2026-11-28",
    }


def test_unreadable_fields_are_reported_not_ignored() -> None:
    _, errors = task_filter(MailQuery(status="nope", route="x", since="27/11/2026"))
    assert sorted(errors) == ["mail.bad_date", "mail.bad_route", "mail.bad_status"]
    for key in errors:
        assert key in MAIL_MESSAGES


def test_the_correction_form_field_labels_exist() -> None:
    for field in ("route", "intent", "product_skus", "note"):
        assert f"mail.field_{field}" in MAIL_MESSAGES
