"""Reasons told straight: decisions apart from the sender's delivery reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailroom_admin_api.reasons import ChangeView, summary_reason, task_reasons

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def change(status: str, reason: str | None, service: str, seconds: int) -> ChangeView:
    return ChangeView(status, reason, service, T0 + timedelta(seconds=seconds))


def test_handoff_reason_survives_the_acknowledgements_smtp_reply() -> None:
    reasons = task_reasons(
        [
            change("received", None, "sender-projector", 0),
            change("handoff", "customer threatens a chargeback", "responder", 1),
            change("handoff", "handoff_ack sent; accepted: 250 2.0.0 Ok", "sender", 2),
        ],
        status="handoff",
    )
    assert reasons.status_reason == "customer threatens a chargeback"
    assert reasons.delivery_result == "handoff_ack sent; accepted: 250 2.0.0 Ok"


def test_a_later_decision_replaces_an_earlier_one_and_a_reply_is_not_a_reason() -> None:
    reasons = task_reasons(
        [
            change("processing", "llm: an open question", "responder", 1),
            change("replied", "gate passed", "responder", 2),
            change("sent", "accepted: 250 queued", "sender", 3),
        ],
        status="sent",
    )
    assert reasons.status_reason == "gate passed"
    assert reasons.delivery_result == "accepted: 250 queued"


def test_nothing_sent_means_no_delivery_result() -> None:
    reasons = task_reasons([change("ignored", "auto_submitted", "ingest", 0)], status="ignored")
    assert reasons == type(reasons)(status_reason="auto_submitted", delivery_result=None)


def test_a_dead_letters_reason_is_its_error() -> None:
    reasons = task_reasons(
        [change("dead_letter", "gave up after 5 attempts", "responder", 5)],
        status="dead_letter",
        dead_letter_error="RateLimitError: 429 Too Many Requests",
    )
    assert reasons.status_reason == "RateLimitError: 429 Too Many Requests"
    # Without a dead letter record, the responder's own words stay.
    kept = task_reasons(
        [change("dead_letter", "gave up after 5 attempts", "responder", 5)], status="dead_letter"
    )
    assert kept.status_reason == "gave up after 5 attempts"


def test_summary_reason() -> None:
    assert (
        summary_reason(
            status="dead_letter", latest_decision="x", decision_reason="y", last_error="boom"
        )
        == "boom"
    )
    assert (
        summary_reason(
            status="sent", latest_decision=None, decision_reason="faq: shipping", last_error=None
        )
        == "faq: shipping"
    )
    assert (
        summary_reason(
            status="handoff", latest_decision="angry", decision_reason="route", last_error=None
        )
        == "angry"
    )
