"""Pure parts of marking a task resolved and of the Drafts page's edited text."""

from __future__ import annotations

import pytest

from mailroom_admin_api.console.routes.drafts import edited_text
from mailroom_admin_api.services.reprocess_logic import refusal_for
from mailroom_admin_api.waiting import resolve_event_id, resolve_refusal, resolved_reason
from mailroom_common.events import TERMINAL_STATUSES, TaskStatus


@pytest.mark.parametrize("status", ["handoff", "human_owned"])
def test_a_task_waiting_for_a_person_can_be_resolved(status: str) -> None:
    assert resolve_refusal(status) is None


@pytest.mark.parametrize(
    "status", [s.value for s in TaskStatus if s not in {TaskStatus.HANDOFF, TaskStatus.HUMAN_OWNED}]
)
def test_any_other_status_is_refused_with_a_reason(status: str) -> None:
    why = resolve_refusal(status)
    assert why
    assert ("already" in why) if status == "resolved" else (status.replace("_", " ") in why)


def test_one_resolution_event_id_per_task() -> None:
    assert resolve_event_id("<a@x>") == resolve_event_id("<a@x>")
    assert resolve_event_id("<a@x>") != resolve_event_id("<b@x>")


def test_the_reason_names_who_and_where() -> None:
    assert resolved_reason("operator", "console") == (
        "resolved by a person in the console (operator)"
    )


def test_resolved_is_terminal_and_not_reprocessable() -> None:
    from datetime import UTC, datetime

    assert TaskStatus.RESOLVED in TERMINAL_STATUSES
    refused = refusal_for("resolved", None, datetime.now(UTC), 60)
    assert refused is not None
    assert "a person answered it" in refused.detail


def test_an_unchanged_textarea_sends_the_drafted_text() -> None:
    drafted = "Hola Ana,\nsí: enviamos a Rosario."
    assert edited_text("Hola Ana,\r\nsí: enviamos a Rosario.", drafted) is None
    assert edited_text("Hola Ana,\r\nsí: enviamos a Rosario.\r\n", drafted) is None


def test_an_edited_textarea_is_sent_with_lf_line_breaks() -> None:
    assert edited_text("Hola Ana,\r\nen 3 días.", "Hola Ana") == "Hola Ana,\nen 3 días."
    assert edited_text("algo", None) == "algo"
