"""Needs a person in a real Chromium: seeded hand-offs and owned threads, oldest first; a
hand-off marked resolved (its StatusChanged on this server's mail.status: the browser
tests run the admin API alone, the projector's handling of ``resolved`` is a sender unit
test), a thread given back to the bot (released in PostgreSQL), forms without the CSRF
token refused and nothing changed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from mailroom_common.db.models import EmailTask, ThreadOwner
from mailroom_common.events import StatusChanged, TaskStatus
from mailroom_common.topics import STATUS

pytestmark = [pytest.mark.integration, pytest.mark.browser]

HOSTILE = '<script>alert("x")</script><b>bold</b>'


def _task(seeder: Any, n: int, at: datetime, status: str, **fields: Any) -> EmailTask:
    values: dict[str, Any] = {
        "message_key": seeder.key(n),
        "thread_key": seeder.key(n),
        "mailbox": "shop@mailroom.test",
        "from_address": f"customer{n}@{seeder.tag}.example.com",
        "subject": f"{HOSTILE} {seeder.tag} {n}",
        "status": status,
        "decision_reason": f"angry customer {n}",
        "route": "handoff",
        "received_at": at,
        "created_at": at,
        "updated_at": at,
        "status_at": at,
    }
    values.update(fields)
    return EmailTask(**values)


async def _rows(console: Any, sql: str, **params: Any) -> list[Any]:
    async with console.seeder.engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


@pytest.fixture
async def seeded(console: Any) -> Any:
    seeder = console.seeder
    now = datetime.now(UTC)
    older = _task(seeder, 1, now - timedelta(hours=5), "handoff")
    newer = _task(seeder, 2, now - timedelta(minutes=30), "human_owned")
    thread = seeder.key("thread")
    owners = [
        ThreadOwner(
            thread_id=seeder.key(n),
            thread=thread,
            reason="handed off to a person",
            message_key=seeder.key(n),
            owned_since=now - timedelta(hours=5),
            last_activity_at=now - timedelta(minutes=30),
        )
        for n in (1, 2)
    ]
    await seeder.add(older, newer, *owners)
    try:
        yield {"older": older, "newer": newer, "thread": thread}
    finally:
        async with seeder.engine.begin() as conn:
            await conn.execute(text("DELETE FROM thread_owners WHERE thread = :t"), {"t": thread})


async def test_needs_a_person_lists_oldest_first_and_resolves_a_handoff(
    page: Any, console: Any, seeded: Any
) -> None:
    await console.sign_in(page)
    await page.goto("/console/person")
    await page.get_by_role("heading", level=1, name="Needs a person").wait_for()
    assert await page.locator('nav a[aria-current="page"]').inner_text() == "Needs a person"
    keys = [
        k
        for k in await page.locator("table[data-table=handoffs] tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.messageKey)"
        )
        if console.seeder.tag in k
    ]
    assert keys == [console.seeder.key(1), console.seeder.key(2)]  # oldest first
    row = page.locator(f'tr[data-message-key="{console.seeder.key(1)}"]')
    # The hostile subject is text: shown as typed, no element made of it, no script run.
    assert HOSTILE in await row.locator("th").inner_text()
    assert await page.locator("table b").count() == 0
    assert "angry customer 1" in await row.inner_text()
    assert "5 h" in await row.inner_text()
    link = row.get_by_role("link")
    assert await link.get_attribute("href") == f"/console/mail/{seeded['older'].id}"
    # The owned thread, with its task, reason and the time it goes back to the bot.
    thread_row = page.locator("table[data-table=threads] tbody tr").filter(
        has_text=console.seeder.tag
    )
    assert await thread_row.count() == 1
    assert "handed off to a person" in await thread_row.inner_text()
    await console.screenshot(page, "person")

    # Keyboard: focus the row's button and press Enter.
    await row.get_by_role("button", name=re.compile("^Mark resolved")).focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/console/person?done=resolved")
    assert "Marked resolved" in await page.get_by_test_id("notice").inner_text()
    events = await console.records(STATUS, {console.seeder.key(1)})
    assert len(events) == 1, events
    event = events[0]
    assert isinstance(event, StatusChanged)
    assert event.status is TaskStatus.RESOLVED
    assert event.producer == "admin-api"
    assert event.reason == "resolved by a person in the console (operator)"
    assert page.problems == []


async def test_a_thread_is_given_back_to_the_bot(page: Any, console: Any, seeded: Any) -> None:
    await console.sign_in(page)
    await page.goto("/console/person")
    row = page.locator(f'tr[data-thread="{seeded["thread"]}"]')
    await row.get_by_role("button", name=re.compile("^Give back to the bot")).click()
    await page.wait_for_url("**/console/person?done=released")
    assert "given back to the bot" in await page.get_by_test_id("notice").inner_text()
    assert await page.locator(f'tr[data-thread="{seeded["thread"]}"]').count() == 0
    rows = await _rows(
        console,
        "SELECT released_at, released_by FROM thread_owners WHERE thread = :t",
        t=seeded["thread"],
    )
    assert len(rows) == 2
    assert all(r.released_at is not None and r.released_by == "operator" for r in rows)
    # A second release (a stale page) is refused with the reason, nothing changes.
    again = await page.request.post(
        "/console/person/threads/release",
        form={
            "csrf_token": await page.locator('input[name="csrf_token"]').first.input_value(),
            "thread": seeded["thread"],
        },
    )
    assert again.status == 404
    assert "no longer owned" in await again.text()
    assert page.problems == []


async def test_forms_without_the_csrf_token_change_nothing(
    page: Any, console: Any, seeded: Any
) -> None:
    await console.sign_in(page)
    resolve = await page.request.post(f"/console/person/tasks/{seeded['newer'].id}/resolve")
    assert resolve.status == 403
    release = await page.request.post(
        "/console/person/threads/release", form={"thread": seeded["thread"]}
    )
    assert release.status == 403
    rows = await _rows(
        console,
        "SELECT count(*) AS n FROM thread_owners WHERE thread = :t AND released_at IS NULL",
        t=seeded["thread"],
    )
    assert rows[0].n == 2
    assert await console.records(STATUS, {console.seeder.key(2)}, timeout_s=2) == []
