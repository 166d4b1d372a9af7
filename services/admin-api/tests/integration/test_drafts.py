"""/v1/drafts: pending drafts, and approvals/discards handed to the sender on Kafka."""

from __future__ import annotations

import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from mailroom_common.db.models import ReplyDraft
from mailroom_common.events import DraftAction, OutboundEmail
from mailroom_common.topics import DRAFT_ACTIONS

pytestmark = pytest.mark.integration


def _draft(seeder: Any, n: int | str, *, state: str = "filed", **fields: Any) -> ReplyDraft:
    key = seeder.key(n)
    out = OutboundEmail(
        message_key=key,
        thread_key=key,
        to=f"customer{n}@{seeder.tag}.example.com",
        subject=f"subject {n}",
        body_text=f"Hola {n}, enviamos a todo el país.",
        in_reply_to=key,
        route="faq",
    )
    values: dict[str, Any] = {
        "message_key": key,
        "kind": "reply",
        "smtp_message_id": f"<{uuid.uuid4().hex}.reply@mailroom.test>",
        "thread_key": key,
        "recipient": out.to,
        "subject": f"Re: subject {n}",
        "body_text": out.body_text,
        "route": "faq",
        "outbound": out.model_dump(mode="json"),
        "folder": "Drafts",
        "state": state,
    }
    values.update(fields)
    return ReplyDraft(**values)


def _path(key: str, action: str) -> str:
    return f"/v1/drafts/{urllib.parse.quote(key, safe='')}/{action}"


async def test_pending_drafts_are_listed_newest_first_in_pages(
    own_database_url: str, kafka_topics: Any, tools: Any
) -> None:
    engine = create_async_engine(own_database_url)
    seeder = tools.seeder_cls(engine)
    now = datetime.now(UTC)
    try:
        await seeder.add(
            seeder.task(
                1,
                created_at=now,
                status="drafted",
                original=seeder.inbound(1).model_dump(mode="json"),
            ),
            _draft(seeder, 1, created_at=now - timedelta(minutes=3)),
            _draft(seeder, 2, created_at=now - timedelta(minutes=2), kind="handoff_ack"),
            _draft(seeder, 3, created_at=now - timedelta(minutes=1)),
            _draft(seeder, 4, created_at=now, state="sent"),
            _draft(seeder, 5, created_at=now, state="discarded"),
        )
    finally:
        await engine.dispose()
    async with tools.running_app(tools.make_settings(own_database_url, kafka_topics)) as app:
        first = await app.client.get("/v1/drafts", params={"limit": 2})
        assert first.status_code == 200, first.text
        page = first.json()
        assert [d["message_key"] for d in page["items"]] == [seeder.key(3), seeder.key(2)]
        assert page["items"][1]["kind"] == "handoff_ack"
        second = await app.client.get(
            "/v1/drafts", params={"limit": 2, "cursor": page["next_cursor"]}
        )
        rest = second.json()
        assert [d["message_key"] for d in rest["items"]] == [seeder.key(1)]
        assert rest["next_cursor"] is None
        one = rest["items"][0]
        assert one["to"] == f"customer1@{seeder.tag}.example.com"
        assert one["subject"] == "Re: subject 1"
        assert one["reply_text"] == "Hola 1, enviamos a todo el país."
        assert one["task_id"] is not None
        # The customer's mail it answers, from the task and its stored original.
        assert one["customer_from"] == f"customer1@{seeder.tag}.example.com"
        assert one["customer_subject"] == "subject 1"
        assert one["customer_text"] == "hola 1"
        assert page["items"][0]["customer_text"] is None  # no task yet
        assert (await app.client.get("/v1/drafts")).json()["items"][0]["task_id"] is None
        bad = await app.client.get("/v1/drafts", params={"cursor": "nope"})
        assert bad.status_code == 400


async def test_approve_and_discard_publish_a_draft_action_for_the_sender(
    api: Any, seeder: Any, kafka_topics: Any, tools: Any
) -> None:
    now = datetime.now(UTC)
    await seeder.add(
        seeder.task(1, created_at=now, status="drafted"),
        _draft(seeder, 1),
        seeder.task(2, created_at=now, status="drafted"),
        _draft(seeder, 2),
        seeder.task(3, created_at=now, status="handoff"),
        _draft(seeder, 3, kind="handoff_ack"),
    )
    edited = "Hola, sí: enviamos a Rosario en 3 días hábiles."
    approve = await api.client.post(_path(seeder.key(1), "approve"), json={"body_text": edited})
    assert approve.status_code == 202, approve.text
    assert approve.json()["edited"] is True
    plain = await api.client.post(_path(seeder.key(3), "approve"))  # no body: as drafted
    assert plain.status_code == 202, plain.text
    discard = await api.client.post(_path(seeder.key(2), "discard"))
    assert discard.status_code == 202, discard.text
    assert discard.json()["action"] == "discard"
    records = await tools.read_topic(kafka_topics, kafka_topics.topic(DRAFT_ACTIONS), expect=3)
    by_key = {key: event for key, event in records}
    assert set(by_key) == {seeder.key(1), seeder.key(2), seeder.key(3)}
    first = by_key[seeder.key(1)]
    assert isinstance(first, DraftAction)
    assert (first.action, first.body_text, first.producer) == ("approve", edited, "admin-api")
    assert str(first.event_id) == approve.json()["event_id"]
    third = by_key[seeder.key(3)]
    assert isinstance(third, DraftAction)
    assert (third.action, third.body_text) == ("approve", None)
    second = by_key[seeder.key(2)]
    assert isinstance(second, DraftAction)
    assert second.action == "discard"


async def test_what_cannot_be_decided_is_refused_and_nothing_is_published(
    api: Any, seeder: Any, kafka_topics: Any, tools: Any
) -> None:
    now = datetime.now(UTC)
    await seeder.add(
        seeder.task(1, created_at=now, status="sent"),
        _draft(seeder, 1, state="sent_by_person"),
        seeder.task(2, created_at=now, status="replied"),
        _draft(seeder, 2),
        seeder.task(3, created_at=now, status="sent"),
    )
    person = await api.client.post(_path(seeder.key(1), "approve"))
    assert person.status_code == 409
    assert person.headers["content-type"].startswith("application/problem+json")
    assert "sent by person" in person.json()["detail"]
    assert (await api.client.post(_path(seeder.key(1), "discard"))).status_code == 409
    lagging = await api.client.post(_path(seeder.key(2), "approve"))
    assert lagging.status_code == 409
    assert lagging.json()["type"].endswith("task-not-drafted")
    missing = await api.client.post(_path(seeder.key(3), "discard"))
    assert missing.status_code == 404
    empty = await api.client.post(_path(seeder.key(2), "approve"), json={"body_text": "  "})
    assert empty.status_code == 422
    extra = await api.client.post(_path(seeder.key(2), "approve"), json={"text": "x"})
    assert extra.status_code == 422
    assert (
        await tools.read_topic(
            kafka_topics, kafka_topics.topic(DRAFT_ACTIONS), expect=0, settle_s=0.5
        )
        == []
    )
