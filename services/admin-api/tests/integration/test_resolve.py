"""POST /v1/tasks/{id}/resolve: a person answered a task waiting for them; the resolved
status is published to mail.status for the projector, and anything else is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailroom_common.events import StatusChanged, TaskStatus
from mailroom_common.topics import STATUS

pytestmark = pytest.mark.integration


async def test_a_handoff_and_a_human_owned_task_are_resolved_on_mail_status(
    api: Any, seeder: Any, kafka_topics: Any, tools: Any
) -> None:
    now = datetime.now(UTC)
    handoff = seeder.task(1, created_at=now - timedelta(hours=2), status="handoff")
    owned = seeder.task(2, created_at=now, status="human_owned", trace_id="a" * 32)
    await seeder.add(handoff, owned)
    first = await api.client.post(f"/v1/tasks/{handoff.id}/resolve")
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["status"] == "resolved"
    assert body["previous_status"] == "handoff"
    assert body["resolved_by"] == "operator"
    again = await api.client.post(f"/v1/tasks/{handoff.id}/resolve")  # before the projector
    assert again.status_code == 202
    assert again.json()["event_id"] == body["event_id"]  # the same event: dropped as a repeat
    second = await api.client.post(f"/v1/tasks/{owned.id}/resolve")
    assert second.status_code == 202, second.text
    records = await tools.read_topic(kafka_topics, kafka_topics.topic(STATUS), expect=3)
    events = [(key, ev) for key, ev in records if isinstance(ev, StatusChanged)]
    assert {key for key, _ in events} == {seeder.key(1), seeder.key(2)}
    for key, ev in events:
        assert ev.message_key == key
        assert ev.status is TaskStatus.RESOLVED
        assert ev.producer == "admin-api"
        assert ev.reason == "resolved by a person in the API (operator)"
    assert {str(ev.event_id) for key, ev in events if key == seeder.key(1)} == {body["event_id"]}
    assert next(ev.trace_id for key, ev in events if key == seeder.key(2)) == "a" * 32


async def test_a_task_not_waiting_for_a_person_is_refused_and_nothing_is_published(
    api: Any, seeder: Any, kafka_topics: Any, tools: Any
) -> None:
    now = datetime.now(UTC)
    tasks = [
        seeder.task(n, created_at=now, status=status)
        for n, status in enumerate(("sent", "resolved", "drafted", "dead_letter"))
    ]
    await seeder.add(*tasks)
    for task in tasks:
        refused = await api.client.post(f"/v1/tasks/{task.id}/resolve")
        assert refused.status_code == 409, (task.status, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"].endswith("task-not-waiting")
    missing = await api.client.post(f"/v1/tasks/{uuid.uuid4()}/resolve")
    assert missing.status_code == 404
    assert (
        await tools.read_topic(kafka_topics, kafka_topics.topic(STATUS), expect=0, settle_s=0.5)
        == []
    )


async def test_resolve_needs_the_token(api: Any, seeder: Any) -> None:
    task = seeder.task(1, created_at=datetime.now(UTC), status="handoff")
    await seeder.add(task)
    refused = await api.client.post(f"/v1/tasks/{task.id}/resolve", headers={"Authorization": ""})
    assert refused.status_code == 401
