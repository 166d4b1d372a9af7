from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mailroom_common.events import Disposition, InboundEmail, encode_event
from mailroom_sender.redrive_logic import (
    Candidate,
    RedriveAction,
    RedrivePolicy,
    decide,
    history_event_id,
    history_reason,
    parent_context,
)

POLICY = RedrivePolicy(after_s=300, max_redrives=3)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def stored(**fields: Any) -> dict[str, Any]:
    email = InboundEmail(
        message_key="<m1@x>", thread_key="<t1@x>", mailbox="shop@x", text="hola", **fields
    )
    loaded: dict[str, Any] = json.loads(encode_event(email))
    return loaded


def candidate(original: Any, count: int = 0) -> Candidate:
    return Candidate(message_key="<m1@x>", original=original, redrive_count=count, trace_id=TRACE)


def test_under_the_limit_the_stored_email_is_republished_unchanged() -> None:
    original = stored()
    for count in range(POLICY.max_redrives):
        decision = decide(candidate(original, count), POLICY)
        assert decision.action is RedriveAction.REPUBLISH
        assert decision.email is not None
        # Same event id, same run, same key: the very record ingest published.
        assert json.loads(encode_event(decision.email)) == original


def test_at_the_limit_the_sweep_gives_up() -> None:
    decision = decide(candidate(stored(), POLICY.max_redrives), POLICY)
    assert decision.action is RedriveAction.GIVE_UP
    assert decision.email is None
    assert "3 redrive(s)" in decision.why
    only_alert = RedrivePolicy(after_s=300, max_redrives=0)
    assert decide(candidate(stored(), 0), only_alert).action is RedriveAction.GIVE_UP


@pytest.mark.parametrize(
    "original",
    [
        None,
        "not an object",
        {"event_type": "outbound_email"},
        {"event_type": "inbound_email", "message_key": "<m1@x>"},  # fields missing
        stored(disposition=Disposition.IGNORED, screen_reason="bounce"),
    ],
)
def test_an_unreadable_original_is_given_up_on_at_once(original: Any) -> None:
    decision = decide(candidate(original), POLICY)
    assert decision.action is RedriveAction.GIVE_UP
    assert "not a readable email" in decision.why


def test_history_reasons_say_what_happened() -> None:
    c = candidate(stored(), 1)
    assert history_reason(decide(c, POLICY), c, POLICY) == (
        "redrive 2/3: no progress for over 300s; original republished to mail.inbound"
    )
    done = candidate(stored(), 3)
    reason = history_reason(decide(done, POLICY), done, POLICY)
    assert reason.startswith("redrive gave up: still 'received' after 3 redrive(s)")
    assert reason.endswith("alert raised")


def test_history_ids_are_stable_per_task_run_and_step() -> None:
    assert history_event_id("<m1@x>", None, "redrive:1") == history_event_id(
        "<m1@x>", "", "redrive:1"
    )
    ids = {
        history_event_id("<m1@x>", None, "redrive:1"),
        history_event_id("<m1@x>", None, "redrive:2"),
        history_event_id("<m1@x>", TRACE, "redrive:1"),
        history_event_id("<m2@x>", None, "redrive:1"),
    }
    assert len(ids) == 4


def test_the_redrive_span_lands_in_the_emails_own_trace() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    ctx = parent_context(TRACE, span_id=0xABC)
    assert ctx is not None
    with provider.get_tracer("t").start_as_current_span("redrive publish", context=ctx):
        pass
    (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE
    assert span.parent is not None
    assert span.parent.span_id == 0xABC
    assert span.parent.is_remote
    assert span.context.trace_flags.sampled


@pytest.mark.parametrize("bad", [None, "", "zz", "0" * 32, "f" * 33])
def test_without_a_usable_trace_id_there_is_no_parent(bad: str | None) -> None:
    assert parent_context(bad) is None
