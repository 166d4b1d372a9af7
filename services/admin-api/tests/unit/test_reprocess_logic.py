import uuid
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mailroom_admin_api.services.reprocess_logic import (
    event_id_for,
    is_sent,
    link_to_trace,
    refusal_for,
    reprocess_event,
)
from mailroom_common.events import InboundEmail

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_event_id_is_stable_per_key() -> None:
    assert event_id_for("k1") == event_id_for("k1")
    assert event_id_for("k1") != event_id_for("k2")


def test_reprocess_event_resets_attempts_and_names_the_old_trace() -> None:
    original = InboundEmail(
        message_key="<m1@x>",
        thread_key="<m1@x>",
        mailbox="shop@mailroom.test",
        text="hola",
        attempt=3,
        producer="ingest",
    )
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    new_id = uuid.uuid4()
    event = reprocess_event(original, event_id=new_id, earlier_trace_id=TRACE, now=now)
    assert event.event_id == new_id != original.event_id
    assert event.attempt == 0
    assert event.reprocess_of_trace_id == TRACE
    assert event.occurred_at == now
    assert event.producer == "admin-api"
    assert (event.message_key, event.thread_key, event.text) == ("<m1@x>", "<m1@x>", "hola")


def test_sent_means_status_or_ledger() -> None:
    assert is_sent("sent", False)
    assert is_sent("dead_letter", True)
    assert not is_sent("dead_letter", False)
    assert not is_sent(None, False)


def test_link_survives_into_the_exported_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    link = link_to_trace(TRACE)
    assert link is not None
    with provider.get_tracer("t").start_as_current_span("admin.reprocess", links=[link]):
        pass
    (span,) = exporter.get_finished_spans()
    assert [format(lnk.context.trace_id, "032x") for lnk in span.links] == [TRACE]


def test_no_link_for_missing_or_bad_trace_ids() -> None:
    assert link_to_trace(None) is None
    assert link_to_trace("") is None
    assert link_to_trace("zz") is None
    assert link_to_trace("0" * 32) is None
    assert link_to_trace("f" * 33) is None


NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_dead_letters_are_reprocessable_at_any_age() -> None:
    assert refusal_for("dead_letter", NOW, NOW, 900) is None


@pytest.mark.parametrize("status", ["received", "processing", "retrying"])
def test_unfinished_tasks_only_once_stuck(status: str) -> None:
    young = refusal_for(status, NOW - timedelta(seconds=899), NOW, 900)
    assert young is not None
    assert young.kind == "task-not-stuck"
    assert "2026-11-27T12:00:01+00:00" in young.detail  # when it becomes eligible
    assert refusal_for(status, NOW - timedelta(seconds=900), NOW, 900) is None
    assert refusal_for(status, None, NOW, 900) is None


@pytest.mark.parametrize(
    "status",
    ["replied", "uncertain", "handoff", "send_failed", "ignored", "rejected", "something_new"],
)
def test_other_statuses_are_refused_whatever_their_age(status: str) -> None:
    refusal = refusal_for(status, NOW - timedelta(days=30), NOW, 900)
    assert refusal is not None
    assert refusal.kind == "task-not-reprocessable"
    assert f"'{status}'" in refusal.detail
