from __future__ import annotations

import json
import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mailroom_common.events import (
    DeadLetterEvent,
    DecisionRecord,
    Disposition,
    InboundEmail,
    Route,
    StatusChanged,
    TaskStatus,
    encode_event,
)
from mailroom_sender.projection import HistoryEntry, TaskRow, affects_task, apply_event

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
KEY = "<q1@cliente.com>"
Ev = InboundEmail | StatusChanged | DeadLetterEvent


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def inbound(**kw: object) -> InboundEmail:
    base: dict[str, object] = {
        "message_key": KEY,
        "thread_key": "thread-1",
        "mailbox": "shop@mailroom.test",
        "from_address": "ana@cliente.com",
        "subject": "¿Talle M?",
        "occurred_at": at(0),
        "received_at": at(-5),
        "producer": "ingest",
    }
    base.update(kw)
    return InboundEmail(**base)  # type: ignore[arg-type]


def status(s: TaskStatus, t: float, **kw: object) -> StatusChanged:
    return StatusChanged(message_key=KEY, status=s, occurred_at=at(t), **kw)  # type: ignore[arg-type]


def lifecycle() -> list[Ev]:
    return [
        inbound(),
        status(TaskStatus.PROCESSING, 1, producer="responder", trace_id="a" * 32),
        status(TaskStatus.RETRYING, 2, reason="llm 429", attempts=1, error="429"),
        status(TaskStatus.PROCESSING, 3, attempts=2),
        status(
            TaskStatus.REPLIED,
            4,
            route=Route.LLM,
            intent="sizes",
            attempts=2,
            reply_text="Hola Ana",
            prompt_tokens=120,
            completion_tokens=40,
            cost_usd=0.0012,
            model="llama",
            trace_id="b" * 32,
        ),
        status(
            TaskStatus.SENT,
            5,
            reason="accepted: 250 OK",
            reply_text="Hola Ana",
            producer="sender",
            trace_id="c" * 32,
        ),
    ]


def project(events: list[Ev]) -> tuple[TaskRow | None, dict[uuid.UUID, HistoryEntry]]:
    row: TaskRow | None = None
    history: dict[uuid.UUID, HistoryEntry] = {}
    seen: set[uuid.UUID] = set()
    for ev in events:
        # The projector's processed_events table: a repeated event id changes nothing.
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        row, entry = apply_event(row, ev)
        if entry is not None:
            history.setdefault(entry.event_id, entry)
    return row, history


def test_in_order_lifecycle() -> None:
    row, history = project(lifecycle())
    assert row is not None
    assert row.status == "sent"
    assert row.status_reason == "accepted: 250 OK"
    assert row.status_at == at(5)
    assert row.route == "llm"
    assert row.intent == "sizes"
    assert row.model == "llama"
    assert row.attempts == 2
    assert row.prompt_tokens == 120
    assert row.completion_tokens == 40
    assert str(row.cost_usd) == "0.0012"
    assert row.first_replied_at == at(4)
    assert row.from_address == "ana@cliente.com"
    assert row.thread_key == "thread-1"
    assert row.received_at == at(-5)
    assert row.trace_id == "c" * 32
    assert row.last_error == "429"
    assert len(history) == 6


def test_shuffled_and_duplicated_events_give_the_same_rows() -> None:
    events = lifecycle()
    expected = project(events)
    rng = random.Random(7)
    for _ in range(200):
        batch = events + rng.sample(events, k=rng.randint(1, len(events)))
        rng.shuffle(batch)
        assert project(batch) == expected


def test_applying_the_same_event_twice_is_harmless_even_without_dedup() -> None:
    events = lifecycle()
    row: TaskRow | None = None
    for ev in events + events[::-1]:
        row, _ = apply_event(row, ev)
    assert row == project(events)[0]


def test_late_processing_never_overwrites_sent() -> None:
    row, _ = apply_event(None, status(TaskStatus.SENT, 5))
    row, entry = apply_event(row, status(TaskStatus.PROCESSING, 1))
    assert row.status == "sent"
    # ...but the late event is still part of the history.
    assert entry is not None
    assert entry.status == "processing"


def test_same_instant_ties_go_to_the_further_state() -> None:
    a = status(TaskStatus.PROCESSING, 5)
    b = status(TaskStatus.SENT, 5)
    assert project([a, b])[0] == project([b, a])[0]
    row = project([a, b])[0]
    assert row is not None
    assert row.status == "sent"


def test_newer_reprocess_can_reopen_a_dead_letter() -> None:
    row, _ = project(
        [inbound(), status(TaskStatus.DEAD_LETTER, 3), status(TaskStatus.PROCESSING, 9)]
    )
    assert row is not None
    assert row.status == "processing"


def test_ignored_and_rejected_mail_gets_the_screen_reason() -> None:
    row, entry = apply_event(None, inbound(disposition=Disposition.IGNORED, screen_reason="bounce"))
    assert row.status == "ignored"
    assert row.status_reason == "bounce"
    assert entry is not None
    assert entry.reason == "bounce"
    row, _ = apply_event(None, inbound(disposition=Disposition.REJECTED, screen_reason="too big"))
    assert row.status == "rejected"


def test_status_before_its_inbound_keeps_the_newer_status_and_fills_facts() -> None:
    row, _ = project([status(TaskStatus.REPLIED, 4), inbound()])
    assert row is not None
    assert row.status == "replied"
    assert row.from_address == "ana@cliente.com"
    assert row.subject == "¿Talle M?"


def dead(stage: str, t: float) -> DeadLetterEvent:
    return DeadLetterEvent(
        message_key=KEY,
        stage=stage,
        error_class="LLMError",
        error_message="boom",
        attempts=3,  # type: ignore[arg-type]
        first_failure_at=at(t),
        last_failure_at=at(t),
        original={},
        original_topic="mail.inbound",
        occurred_at=at(t),
    )


def test_responder_dead_letter_ends_the_task_but_sender_ones_do_not() -> None:
    assert affects_task(dead("responder", 3))
    assert not affects_task(dead("sender", 3))
    row, entry = project([inbound(), dead("responder", 3)])
    assert row is not None
    assert row.status == "dead_letter"
    assert row.attempts == 3
    assert row.last_error == "boom"
    assert any(e.status == "dead_letter" for e in entry.values())


# --- the stored original (for the redrive sweep and the admin API's reprocess) ------------
def test_an_answerable_inbound_is_stored_as_the_json_on_the_topic() -> None:
    ev = inbound(text="¿Tienen el talle M?")
    row, _ = apply_event(None, ev)
    assert row.original == json.loads(encode_event(ev))
    assert InboundEmail.model_validate(row.original) == ev


def test_ignored_and_rejected_mail_stores_no_original() -> None:
    for disposition in (Disposition.IGNORED, Disposition.REJECTED):
        row, _ = apply_event(None, inbound(disposition=disposition, screen_reason="bounce"))
        assert row.original is None


def test_a_status_without_its_inbound_stores_no_original() -> None:
    row, _ = apply_event(None, status(TaskStatus.PROCESSING, 1))
    assert row.original is None


def test_a_second_inbound_of_the_same_run_keeps_the_first_original() -> None:
    first = inbound(text="primero")
    again = inbound(text="segundo", occurred_at=at(10))  # ingest re-published after a crash
    row, _ = project([first, again])
    assert row is not None
    assert row.original is not None
    assert row.original["event_id"] == str(first.event_id)


def test_a_newer_reprocess_run_replaces_the_original_and_resets_the_redrive_count() -> None:
    row, _ = apply_event(None, inbound())
    row = replace(row, redrive_count=3, redrive_alerted_at=at(50))
    rerun = inbound(occurred_at=at(60), reprocess_of_trace_id="d" * 32, producer="admin-api")
    row, _ = apply_event(row, rerun)
    assert row.original is not None
    assert row.original["event_id"] == str(rerun.event_id)
    assert (row.redrive_count, row.redrive_alerted_at) == (0, None)
    # An older run arriving late changes nothing; nor does the same run again.
    for late in (
        inbound(occurred_at=at(30), reprocess_of_trace_id="e" * 32),
        inbound(occurred_at=at(70), reprocess_of_trace_id="d" * 32),
        inbound(occurred_at=at(80)),
    ):
        after, _ = apply_event(row, late)
        assert after.original == row.original


def test_the_inbound_trace_fills_the_row_until_the_responder_reports() -> None:
    row, entry = apply_event(None, inbound(), trace_id="1" * 32)
    assert row.trace_id == "1" * 32
    assert entry is not None
    assert entry.trace_id == "1" * 32
    row, _ = apply_event(row, status(TaskStatus.PROCESSING, 1, trace_id="2" * 32))
    assert row.trace_id == "2" * 32


def decision(route: Route, reason: str, confidence: float) -> DecisionRecord:
    return DecisionRecord(
        route=route,
        intent="sizes",
        reason=reason,
        confidence=confidence,
        language="es",
        product_skus=["RB-01"],
        evidence=["size:M"],
    )


LLM_DECISION = decision(Route.LLM, "llm: nothing else matched", 0.4)
FAQ_DECISION = decision(Route.FAQ, "faq:sizes: phrase 'talle'", 0.9)


def test_a_decision_is_stored_and_kept_by_later_events_without_one() -> None:
    events = lifecycle()
    events[1] = status(TaskStatus.PROCESSING, 1, decision=LLM_DECISION)
    row, _ = project(events)
    assert row is not None
    assert row.decision == LLM_DECISION.model_dump(mode="json")
    assert row.decision == json.loads(encode_event(LLM_DECISION))
    assert row.decision_reason == "llm: nothing else matched"
    assert row.confidence == 0.4
    assert row.decision_at == at(1)
    assert row.status == "sent"  # RETRYING, PROCESSING, REPLIED and SENT carried none


def test_the_newest_decision_wins_in_any_order() -> None:
    events = lifecycle()
    events[1] = status(TaskStatus.PROCESSING, 1, decision=LLM_DECISION)
    # A reprocessed run decided FAQ, then the sender reported it sent.
    events += [
        status(TaskStatus.REPLIED, 10, route=Route.FAQ, decision=FAQ_DECISION),
        status(TaskStatus.SENT, 11, reason="accepted: 250 OK"),
    ]
    expected, _ = project(events)
    assert expected is not None
    assert expected.decision == FAQ_DECISION.model_dump(mode="json")
    assert (expected.decision_reason, expected.confidence) == (FAQ_DECISION.reason, 0.9)
    assert expected.decision_at == at(10)
    rng = random.Random(5)
    for _ in range(200):
        batch = events + rng.sample(events, k=3)
        rng.shuffle(batch)
        row, _ = project(batch)
        assert row is not None
        assert (row.decision, row.decision_at) == (expected.decision, expected.decision_at)


def test_a_late_older_decision_does_not_replace_a_newer_one() -> None:
    row, _ = apply_event(None, status(TaskStatus.REPLIED, 10, decision=FAQ_DECISION))
    row, _ = apply_event(row, status(TaskStatus.SENT, 12))
    # Newer than the stored decision but losing the status to SENT: still the newest decision.
    row, _ = apply_event(row, status(TaskStatus.PROCESSING, 11, decision=LLM_DECISION))
    assert row.decision_reason == LLM_DECISION.reason
    row, _ = apply_event(row, status(TaskStatus.PROCESSING, 1, decision=FAQ_DECISION))
    assert (row.decision_reason, row.decision_at, row.status) == (
        LLM_DECISION.reason,
        at(11),
        "sent",
    )


def handoff_resolved() -> list[Ev]:
    return [
        inbound(),
        status(TaskStatus.PROCESSING, 1, producer="responder"),
        status(TaskStatus.HANDOFF, 2, reason="angry customer", route=Route.HANDOFF),
        status(
            TaskStatus.RESOLVED,
            10,
            reason="resolved by a person in the console (operator)",
            producer="admin-api",
        ),
        # Later reports of the same run: the acknowledgement's send, a redelivered hand-off.
        status(TaskStatus.HANDOFF, 20, reason="handoff_ack sent; accepted: 250 OK"),
        status(TaskStatus.HUMAN_OWNED, 30, reason="thread owned by a person: handoff"),
    ]


def test_resolved_overrides_a_handoff_and_nothing_later_reopens_it() -> None:
    row, history = project(handoff_resolved())
    assert row is not None
    assert row.status == "resolved"
    assert row.status_reason == "resolved by a person in the console (operator)"
    assert row.status_at == at(10)
    assert row.route == "handoff"
    # Every event is still part of the history.
    assert [h.status for h in sorted(history.values(), key=lambda h: h.occurred_at)] == [
        "received",
        "processing",
        "handoff",
        "resolved",
        "handoff",
        "human_owned",
    ]


def test_resolved_is_the_same_in_any_order() -> None:
    events = handoff_resolved()
    expected = project(events)
    rng = random.Random(15)
    for _ in range(200):
        batch = events + rng.sample(events, k=rng.randint(1, len(events)))
        rng.shuffle(batch)
        assert project(batch) == expected


def test_resolved_overrides_human_owned_and_even_a_later_sent() -> None:
    row, _ = project(
        [
            status(TaskStatus.HUMAN_OWNED, 1, reason="thread owned by a person: shop reply"),
            status(TaskStatus.RESOLVED, 2, reason="resolved", producer="admin-api"),
            status(TaskStatus.SENT, 3, reason="accepted: 250 OK"),
        ]
    )
    assert row is not None
    assert row.status == "resolved"
