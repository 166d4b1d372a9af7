"""What the sender reports on a task about one of its messages (pure), and how the
projector then records it: a holding reply while the answer is still coming is history,
never the task's status; the later answer wins whatever the order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailroom_common.events import OutboundEmail, OutboundKind, Route, TaskStatus
from mailroom_sender.outcomes import task_status
from mailroom_sender.projection import apply_event, empty_row

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = "<q1@cliente.com>"


def outbound(kind: OutboundKind, **kw: object) -> OutboundEmail:
    return OutboundEmail(
        message_key=KEY,
        kind=kind,
        thread_key=KEY,
        to="ana@cliente.com",
        subject="Re: Consulta",
        body_text="Recibimos tu mensaje.",
        route=Route.CATALOGUE,
        intent="product_detail",
        occurred_at=T0,
        **kw,  # type: ignore[arg-type]
    )


def test_a_waiting_holding_reply_sent_keeps_the_task_waiting() -> None:
    out = outbound(OutboundKind.HOLDING, keeps_status=TaskStatus.PROCESSING)
    event = task_status(KEY, "holding", TaskStatus.SENT, reason="smtp 250", trace_id="t", out=out)
    assert event.status is TaskStatus.PROCESSING
    assert event.reason == "holding sent; smtp 250"
    assert event.occurred_at == T0  # the responder's time: any later status wins
    assert event.reply_text is None  # the answer's text is the one to show
    assert (event.route, event.intent) == (Route.CATALOGUE, "product_detail")


def test_a_waiting_holding_reply_refused_does_not_end_the_task() -> None:
    out = outbound(OutboundKind.HOLDING, keeps_status=TaskStatus.PROCESSING)
    guarded = task_status(
        KEY, "holding", TaskStatus.SEND_FAILED, reason="loop guard: cap", trace_id=None, out=out
    )
    sent = task_status(KEY, "holding", TaskStatus.SENT, reason="ok", trace_id=None, out=out)
    assert guarded.status is TaskStatus.PROCESSING
    assert guarded.reason == "holding send_failed; loop guard: cap"
    # Ids still name what happened, so both outcomes are kept apart in the history.
    assert guarded.event_id != sent.event_id


def test_a_dead_letter_holding_reply_keeps_the_dead_letter_status() -> None:
    out = outbound(OutboundKind.HOLDING)
    event = task_status(KEY, "holding", TaskStatus.SENT, reason="smtp 250", trace_id=None, out=out)
    assert event.status is TaskStatus.DEAD_LETTER
    assert event.reason == "holding sent; smtp 250"
    assert event.reply_text == "Recibimos tu mensaje."
    ack = task_status(
        KEY,
        "handoff_ack",
        TaskStatus.SENT,
        reason="ok",
        trace_id=None,
        out=outbound(OutboundKind.HANDOFF_ACK),
    )
    assert ack.status is TaskStatus.HANDOFF


def test_the_answer_wins_over_a_late_holding_report_in_any_order() -> None:
    """Holding asked for at T0, answer sent at T0+30 s; the holding's send reported late."""
    holding = task_status(
        KEY,
        "holding",
        TaskStatus.SENT,
        reason="smtp 250",
        trace_id=None,
        out=outbound(OutboundKind.HOLDING, keeps_status=TaskStatus.PROCESSING),
    )
    reply = outbound(OutboundKind.REPLY).model_copy(
        update={"occurred_at": T0 + timedelta(seconds=30), "body_text": "Es de denim rígido."}
    )
    sent = task_status(KEY, "reply", TaskStatus.SENT, reason="smtp 250", trace_id=None, out=reply)
    sent = sent.model_copy(update={"occurred_at": T0 + timedelta(seconds=31)})
    for order in ((holding, sent), (sent, holding)):
        row = empty_row(KEY)
        history = []
        for event in order:
            row, entry = apply_event(row, event)
            history.append(entry)
        assert row.status == "sent"
        assert row.reply_text == "Es de denim rígido."
        assert len(history) == 2  # both recorded on the task
