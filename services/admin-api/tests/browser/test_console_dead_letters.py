"""The Dead letters page in a real Chromium: open ones by default, filters, one reprocessed
(republished on the server's own ``mail.inbound``, reprocessed_at set), bulk reprocess with
its dry-run count first, CSRF.

Every dead letter seeded here has this test's error class (unique), so the filters and the
bulk run touch no other test's rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from mailroom_common.db.models import DeadLetterRecord, EmailTask
from mailroom_common.events import InboundEmail, decode_event
from mailroom_common.kafka import connection_kwargs
from mailroom_common.topics import INBOUND

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _inbound(seeder: Any, n: int | str) -> dict[str, Any]:
    return InboundEmail(
        message_key=seeder.key(n),
        thread_key=seeder.key(n),
        mailbox="shop@mailroom.test",
        from_address=f"customer{n}@{seeder.tag}.example.com",
        subject=f"failed {n}",
        text=f"hola {n}",
        attempt=5,
        producer="ingest",
    ).model_dump(mode="json")


def _task(seeder: Any, n: int | str, at: datetime) -> EmailTask:
    return EmailTask(
        message_key=seeder.key(n),
        thread_key=seeder.key(n),
        mailbox="shop@mailroom.test",
        from_address=f"customer{n}@{seeder.tag}.example.com",
        subject=f"failed {n}",
        status="dead_letter",
        attempts=5,
        received_at=at,
        created_at=at,
        updated_at=at,
        status_at=at,
        original=_inbound(seeder, n),
    )


def _letter(seeder: Any, n: int | str, at: datetime, **fields: Any) -> DeadLetterRecord:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "message_key": seeder.key(n),
        "stage": "responder",
        "error_class": f"ConsoleErr{seeder.tag}",
        "error_message": f"provider kept failing <b>{n}</b>",
        "attempts": 5,
        "original_topic": "mail.inbound",
        "original": _inbound(seeder, n),
        "first_failure_at": at - timedelta(minutes=3),
        "last_failure_at": at,
        "trace_id": uuid.uuid4().hex,
        "created_at": at,
    }
    values.update(fields)
    return DeadLetterRecord(**values)


@pytest.fixture
async def cleanup_extra(console: Any) -> AsyncIterator[None]:
    yield
    pattern = f"<console-{console.seeder.tag}-%"
    async with console.seeder.engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM reprocess_requests WHERE message_key LIKE :p"), {"p": pattern}
        )


async def _open_keys(console: Any) -> list[str]:
    async with console.seeder.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT message_key FROM dead_letters WHERE message_key LIKE :p "
                "AND reprocessed_at IS NULL ORDER BY message_key"
            ),
            {"p": f"<console-{console.seeder.tag}-%"},
        )
        return [r[0] for r in rows]


async def _republished(console: Any, keys: set[str], timeout_s: float = 20.0) -> set[str]:
    """The message keys of ``keys`` found on the console server's mail.inbound."""
    kafka = console.server.kafka
    consumer = AIOKafkaConsumer(
        kafka.topic(INBOUND),
        **connection_kwargs(kafka),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: set[str] = set()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline and found != keys:
            batches = await consumer.getmany(timeout_ms=250)
            for records in batches.values():
                for r in records:
                    event = decode_event(r.value)
                    if isinstance(event, InboundEmail) and event.message_key in keys:
                        assert event.reprocess_of_trace_id is not None
                        assert event.attempt == 0
                        found.add(event.message_key)
    finally:
        await consumer.stop()
    return found


async def _rows(page: Any) -> list[str]:
    table = page.locator('table[data-table="dead-letters"] tbody tr')
    return [await r.get_attribute("data-dead-letter") or "" for r in await table.all()]


async def test_open_dead_letters_listed_and_one_reprocessed(
    page: Any, console: Any, cleanup_extra: None
) -> None:
    s = console.seeder
    at = datetime.now(UTC) - timedelta(minutes=20)
    task = _task(s, "one", at)
    letter = _letter(s, "one", at)
    closed = _letter(s, "closed", at - timedelta(minutes=1), reprocessed_at=at)
    other_stage = _letter(s, "sender", at - timedelta(minutes=2), stage="sender")
    await s.add(task, letter, closed, other_stage)
    cls = f"ConsoleErr{s.tag}"
    await console.sign_in(page)
    await page.get_by_role("link", name="Dead letters", exact=True).click()
    await page.wait_for_url("**/console/dead-letters")
    await page.get_by_label("Error class").fill(cls)
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**error_class=**")
    # Open only by default: the reprocessed one is not listed.
    assert set(await _rows(page)) == {str(letter.id), str(other_stage.id)}
    await page.get_by_label("Stage").select_option("responder")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**stage=responder**")
    assert await _rows(page) == [str(letter.id)]
    row = page.locator(f'tr[data-dead-letter="{letter.id}"]')
    # Text of the error, never markup.
    assert "provider kept failing <b>one</b>" in await row.inner_text()
    assert await row.locator("b").count() == 0
    assert await row.get_by_role("link", name="Open the email").get_attribute("href") == (
        f"/console/mail/{task.id}"
    )
    await page.goto(f"/console/dead-letters?error_class={cls}&show=all")
    assert set(await _rows(page)) == {str(letter.id), str(closed.id), str(other_stage.id)}
    await console.screenshot(page, "dead-letters")

    await page.goto(f"/console/dead-letters?error_class={cls}&stage=responder")
    await row.get_by_role("button", name="Reprocess").click()
    await page.wait_for_url("**reprocessed=1**")
    assert await page.get_by_role("status").inner_text() == "1 reprocessed."
    assert await _rows(page) == []  # no longer open
    assert s.key("one") not in await _open_keys(console)
    assert await _republished(console, {s.key("one")}) == {s.key("one")}
    assert page.problems == []


async def test_bulk_reprocess_shows_the_dry_run_count_first(
    page: Any, console: Any, cleanup_extra: None
) -> None:
    s = console.seeder
    at = datetime.now(UTC) - timedelta(minutes=30)
    letters = [_letter(s, f"bulk{i}", at + timedelta(seconds=i)) for i in range(3)]
    closed = _letter(s, "closedbulk", at, reprocessed_at=at)
    await s.add(*letters, closed)
    keys = {s.key(f"bulk{i}") for i in range(3)}
    cls = f"ConsoleErr{s.tag}"
    await console.sign_in(page)
    await page.goto(f"/console/dead-letters?stage=responder&error_class={cls}")
    await page.get_by_role("button", name="Count (dry run)").click()
    await page.wait_for_url("**/console/dead-letters/reprocess")
    assert await page.locator('[data-field="would-reprocess"]').inner_text() == (
        "3 would be reprocessed"
    )
    assert "Filter: stage responder, error class " + cls in await page.locator("main").inner_text()
    await console.screenshot(page, "dead-letters-dry-run")
    # The dry run published nothing and closed nothing.
    assert set(await _open_keys(console)) == keys
    assert await _republished(console, keys, timeout_s=2.0) == set()

    await page.get_by_role("button", name="Reprocess 3 now").click()
    await page.wait_for_url("**reprocessed=3**")
    assert await page.get_by_role("status").inner_text() == "3 reprocessed."
    assert await _open_keys(console) == []
    assert await _republished(console, keys) == keys
    # Again: nothing is left to reprocess (each dead letter is republished at most once).
    await page.get_by_role("button", name="Count (dry run)").click()
    assert await page.locator('[data-field="would-reprocess"]').inner_text() == (
        "0 would be reprocessed"
    )
    assert await page.get_by_role("button", name="Reprocess 0 now").count() == 0
    assert page.problems == []


async def test_bulk_without_the_csrf_token_is_refused(page: Any, console: Any) -> None:
    s = console.seeder
    at = datetime.now(UTC) - timedelta(minutes=30)
    await s.add(_letter(s, "csrf", at))
    await console.sign_in(page)
    refused = await page.request.post(
        "/console/dead-letters/reprocess",
        form={"stage": "responder", "error_class": f"ConsoleErr{s.tag}", "confirm": "yes"},
    )
    assert refused.status == 403
    assert "Form refused" in await refused.text()
    assert await _open_keys(console) == [s.key("csrf")]
