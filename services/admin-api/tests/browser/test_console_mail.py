"""The Mail pages in a real Chromium: search and filters, cursor pages, a task's page, a
hostile email shown as text, a route corrected through the form, a reprocess, CSRF.

Every row seeded here carries this test's unique keys (the seeder's tag); assertions are
on those rows only, since the database is the whole run's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from mailroom_common.db.models import EmailTask, SendLedger, TaskStatusChange
from mailroom_common.events import InboundEmail

pytestmark = [pytest.mark.integration, pytest.mark.browser]

HOSTILE_SUBJECT = '<script>window.__pwned = 1</script><img src="x" onerror="alert(1)"> order?'
HOSTILE_BODY = (
    "Hello,\n<img src=x onerror=\"window.__pwned = 2; alert('img')\">\n"
    "<script>alert('body')</script>\n<b>bold?</b> & <a href=\"javascript:alert(3)\">link</a>"
)


def _unique_day() -> datetime:
    """A past day no other test uses, so a date filter isolates this test's rows."""
    offset = uuid.uuid4().int % (365 * 40)
    return datetime(1960, 1, 1, 9, tzinfo=UTC) + timedelta(days=offset)


def _inbound(seeder: Any, n: int | str, *, subject: str, text_: str) -> dict[str, Any]:
    return InboundEmail(
        message_key=seeder.key(n),
        thread_key=seeder.key(n),
        mailbox="shop@mailroom.test",
        from_address=f"customer{n}@{seeder.tag}.example.com",
        subject=subject,
        text=text_,
        producer="ingest",
    ).model_dump(mode="json")


def _task(seeder: Any, n: int | str, at: datetime, **fields: Any) -> EmailTask:
    subject = fields.pop("subject", f"question {n} {seeder.tag}")
    values: dict[str, Any] = {
        "message_key": seeder.key(n),
        "thread_key": seeder.key(n),
        "mailbox": "shop@mailroom.test",
        "from_address": f"customer{n}@{seeder.tag}.example.com",
        "subject": subject,
        "status": "received",
        "received_at": at,
        "created_at": at,
        "updated_at": at,
        "status_at": at,
        "original": _inbound(seeder, n, subject=subject, text_=f"hola {n}"),
    }
    values.update(fields)
    return EmailTask(**values)


def _decision(route: str, intent: str, reason: str, confidence: float) -> dict[str, Any]:
    return {
        "route": route,
        "intent": intent,
        "reason": reason,
        "confidence": confidence,
        "language": "es",
        "product_skus": [],
        "evidence": ["phrase:cuando llega"],
        "decided_by": "router",
    }


@pytest.fixture
async def cleanup_extra(console: Any) -> AsyncIterator[None]:
    """What the shared seeder does not delete: corrections, reprocess keys, ledger rows."""
    yield
    pattern = f"<console-{console.seeder.tag}-%"
    async with console.seeder.engine.begin() as conn:
        for table in ("routing_corrections", "reprocess_requests", "send_ledger"):
            await conn.execute(
                text(f"DELETE FROM {table} WHERE message_key LIKE :p"),  # noqa: S608
                {"p": pattern},
            )


async def _scalar(console: Any, sql: str, **params: Any) -> Any:
    async with console.seeder.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


def _problems(page: Any, *expected_statuses: int) -> list[str]:
    """The page's script errors and CSP violations, less the answers the test expected
    (Chromium logs a 4xx document as "Failed to load resource")."""
    allowed = [f"status of {n} " for n in expected_statuses]
    return [
        p
        for p in page.problems
        if not (p.startswith("Failed to load resource") and any(a in p for a in allowed))
    ]


async def _listed(page: Any) -> list[str]:
    rows = page.locator('table[data-table="tasks"] tbody tr')
    return [await r.get_attribute("data-task") or "" for r in await rows.all()]


async def test_search_and_filters_find_the_seeded_tasks_with_cursor_pages(
    page: Any, console: Any
) -> None:
    s = console.seeder
    day = _unique_day()
    sent = _task(s, "sent", day, status="sent", route="faq", subject=f"Pedido {s.tag} llega?")
    handoff = _task(s, "handoff", day + timedelta(minutes=1), status="handoff", route="handoff")
    many = [_task(s, f"bulk{i}", day + timedelta(minutes=2, seconds=i)) for i in range(52)]
    await s.add(sent, handoff, *many)
    await console.sign_in(page)
    await page.get_by_role("link", name="Mail", exact=True).click()
    await page.wait_for_url("**/console/mail")
    assert await page.get_by_role("heading", name="Mail", level=1).is_visible()

    # Subject (a part, any case) and status, typed and chosen with the keyboard-usable form.
    await page.get_by_label("Subject").fill(f"pedido {s.tag.upper()}")
    await page.get_by_label("Status").select_option("sent")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**/console/mail?**")
    assert await _listed(page) == [str(sent.id)]
    await console.screenshot(page, "mail")

    # Route and sender.
    await page.goto(f"/console/mail?route=handoff&sender=customerhandoff@{s.tag}.example.com")
    assert await _listed(page) == [str(handoff.id)]
    await page.goto(f"/console/mail?route=faq&sender=customerhandoff@{s.tag}.example.com")
    assert await _listed(page) == []
    assert await page.get_by_text("No email matches.").is_visible()

    # The date range (one day, included) and the REST cursor: 54 rows → 50, then 4.
    iso = day.date().isoformat()
    await page.goto("/console/mail")
    await page.get_by_label("From (day, UTC)").fill(iso)
    await page.get_by_label("To (day included, UTC)").fill(iso)
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**/console/mail?**")
    first = await _listed(page)
    assert len(first) == 50
    await page.get_by_role("link", name="Next page").click()
    await page.wait_for_url("**cursor=**")
    second = await _listed(page)
    expected = {str(t.id) for t in (sent, handoff, *many)}
    assert len(second) == 4
    assert set(first) | set(second) == expected
    assert not set(first) & set(second)
    assert not await page.get_by_role("link", name="Next page").count()
    # The filter is kept across pages.
    assert await page.get_by_label("From (day, UTC)").input_value() == iso
    # An unreadable filter is said, not ignored.
    await page.goto("/console/mail?status=nonsense")
    assert "There is no such status." in await page.get_by_role("alert").inner_text()
    assert _problems(page, 400) == []


async def test_the_task_page_shows_the_decision_reason_timeline_and_deliveries(
    page: Any, console: Any, cleanup_extra: None
) -> None:
    s = console.seeder
    at = datetime.now(UTC) - timedelta(minutes=30)
    task = _task(
        s,
        "detail",
        at,
        status="sent",
        route="faq",
        intent="shipping",
        decision=_decision("faq", "shipping", "faq:shipping: phrase 'cuando llega'", 0.92),
        decision_reason="faq:shipping: phrase 'cuando llega'",
        confidence=0.92,
        reply_text="Llega en 2-3 días laborables.",
        first_replied_at=at + timedelta(seconds=9),
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
    )
    changes = [
        TaskStatusChange(
            event_id=uuid.uuid4(),
            message_key=s.key("detail"),
            status=status,
            reason=reason,
            service=service,
            occurred_at=at + timedelta(seconds=sec),
        )
        for sec, status, reason, service in (
            (1, "processing", None, "responder"),
            (5, "replied", "faq:shipping: phrase 'cuando llega'", "responder"),
            (9, "sent", "accepted: 250 2.0.0 Ok", "sender"),
        )
    ]
    ledger = SendLedger(
        message_key=s.key("detail"),
        kind="reply",
        smtp_message_id=f"<{uuid.uuid4().hex}@mailroom.test>",
        recipient=f"customerdetail@{s.tag}.example.com",
        state="sent",
        attempts=1,
        sent_at=at + timedelta(seconds=9),
    )
    await s.add(task, *changes, ledger)
    await console.sign_in(page)
    await page.goto(f"/console/mail?subject={s.tag}&status=sent")
    await page.get_by_role("link", name=task.subject).click()
    await page.wait_for_url(f"**/console/mail/{task.id}")

    decision = page.locator('[data-section="decision"]')
    assert await decision.locator('[data-field="decision-route"]').inner_text() == "FAQ"
    reason = "faq:shipping: phrase 'cuando llega'"
    assert await decision.locator('[data-field="decision-reason"]').inner_text() == reason
    assert await decision.locator('[data-field="confidence"]').inner_text() == "92.0%"
    assert await page.locator('[data-field="status-reason"]').inner_text() == reason
    delivery = page.locator('[data-field="delivery-result"]')
    assert await delivery.inner_text() == "accepted: 250 2.0.0 Ok"
    items = [await li.inner_text() for li in await page.locator(".timeline li").all()]
    assert [i.split("\n")[0].split(" UTC ")[1] for i in items] == [
        "Processing (responder)",
        "Replied (responder)",
        "Sent (sender)",
    ]
    assert reason in items[1]
    assert "accepted: 250 2.0.0 Ok" in items[2]
    assert await page.locator('[data-field="email-text"]').inner_text() == "hola detail"
    assert await page.locator('[data-field="reply-text"]').inner_text() == task.reply_text
    rows = page.locator('table[data-table="deliveries"] tbody tr')
    assert await rows.count() == 1
    assert "customerdetail@" in await rows.first.inner_text()
    # The trace id is shown (a link when ADMIN_TRACING_UI_BASE_URL is set; it is not here).
    assert (
        "4bf92f3577b34da6a3ce929d0e0e4736"
        in await page.locator('[data-field="trace"]').inner_text()
    )
    await console.screenshot(page, "mail-task")
    assert page.problems == []


async def test_a_hostile_email_shows_as_text_and_runs_nothing(page: Any, console: Any) -> None:
    s = console.seeder
    at = datetime.now(UTC) - timedelta(minutes=5)
    task = _task(
        s,
        "hostile",
        at,
        status="handoff",
        route="handoff",
        subject=HOSTILE_SUBJECT,
        original=_inbound(s, "hostile", subject=HOSTILE_SUBJECT, text_=HOSTILE_BODY),
        reply_text='<img src=x onerror="alert(4)">',
        decision_reason='<script>alert("reason")</script>',
    )
    change = TaskStatusChange(
        event_id=uuid.uuid4(),
        message_key=s.key("hostile"),
        status="handoff",
        reason='<img src=x onerror="alert(5)">',
        service="responder",
        occurred_at=at,
    )
    await s.add(task, change)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    await console.sign_in(page)

    await page.goto(f"/console/mail?sender=customerhostile@{s.tag}.example.com")
    link = page.get_by_role("link", name=HOSTILE_SUBJECT)
    assert await link.is_visible()
    await link.click()
    await page.wait_for_url(f"**/console/mail/{task.id}")
    assert await page.get_by_role("heading", level=1).inner_text() == HOSTILE_SUBJECT
    assert await page.locator('[data-field="email-text"]').inner_text() == HOSTILE_BODY
    assert '<img src=x onerror="alert(5)">' in await page.locator(".timeline").inner_text()
    # Nothing of the email became markup: no image, script, bold or link from it.
    main = page.locator("main")
    assert await main.locator("img").count() == 0
    assert await main.locator("script").count() == 0
    assert await main.locator("b").count() == 0
    assert await main.locator('a[href^="javascript:"]').count() == 0
    assert await page.evaluate("() => window.__pwned === undefined")
    await page.wait_for_timeout(300)
    assert dialogs == []
    assert page.problems == []  # not even a CSP violation: nothing tried to run
    await console.screenshot(page, "mail-hostile")


async def test_a_route_corrected_through_the_form(
    page: Any, console: Any, cleanup_extra: None
) -> None:
    s = console.seeder
    task = _task(
        s,
        "correct",
        datetime.now(UTC) - timedelta(minutes=10),
        status="handoff",
        route="handoff",
        decision=_decision("handoff", "angry", "handoff: angry words", 0.7),
    )
    await s.add(task)
    await console.sign_in(page)
    await page.goto(f"/console/mail/{task.id}")
    assert await page.get_by_text("No correction.").is_visible()
    # The form starts from the router's decision.
    assert await page.get_by_label("Right route").input_value() == "handoff"

    # An unknown SKU is refused by the same service as PUT /v1/tasks/{id}/correction.
    await page.get_by_label("Right route").select_option("faq")
    await page.get_by_label("Intent").fill("shipping")
    await page.get_by_label("Product SKUs").fill(f"NO-SUCH-{s.tag}")
    await page.get_by_role("button", name="Save the correction").click()
    assert f"NO-SUCH-{s.tag}" in await page.get_by_role("alert").inner_text()
    sql = "SELECT count(*) FROM routing_corrections WHERE message_key = :k"
    assert await _scalar(console, sql, k=s.key("correct")) == 0
    # What was typed is kept.
    assert await page.get_by_label("Intent").input_value() == "shipping"

    await page.get_by_label("Product SKUs").fill("")
    await page.get_by_label("Note").fill("asks how long delivery takes")
    await page.get_by_label("Note").press("Tab")
    await page.keyboard.press("Enter")  # the submit button, reached with the keyboard
    await page.wait_for_url(f"**/console/mail/{task.id}?done=corrected*")
    assert await page.get_by_role("status").inner_text() == "Correction saved."
    current = await page.locator('[data-field="correction"]').inner_text()
    assert current.startswith("Current correction: FAQ (by operator,")
    assert "asks how long delivery takes" in current
    row_sql = (
        "SELECT route || '|' || intent || '|' || decided_route || '|' || corrected_by "
        "FROM routing_corrections WHERE message_key = :k"
    )
    assert await _scalar(console, row_sql, k=s.key("correct")) == "faq|shipping|handoff|operator"
    actions = await page.locator('[data-section="actions"]').inner_text()
    assert "operator corrected the route to FAQ" in actions
    await console.screenshot(page, "mail-correction")
    assert _problems(page, 422) == []


async def test_reprocess_from_the_task_page_records_its_key(
    page: Any, console: Any, cleanup_extra: None
) -> None:
    s = console.seeder
    task = _task(
        s, "again", datetime.now(UTC) - timedelta(hours=1), status="dead_letter", attempts=5
    )
    await s.add(task)
    await console.sign_in(page)
    await page.goto(f"/console/mail/{task.id}")
    key = await page.locator('input[name="idempotency_key"]').get_attribute("value")
    assert key is not None
    assert key.startswith("console-")
    await page.get_by_role("button", name="Reprocess this email").click()
    await page.wait_for_url(f"**/console/mail/{task.id}?done=reprocessed")
    sql = "SELECT request_key FROM reprocess_requests WHERE message_key = :k"
    assert await _scalar(console, sql, k=s.key("again")) == key
    assert f"reprocessed (key {key})" in await page.locator('[data-section="actions"]').inner_text()

    # A task already sent is refused, with the service's reason on the page.
    sent = _task(s, "sentalready", datetime.now(UTC) - timedelta(hours=1), status="sent")
    await s.add(sent)
    await page.goto(f"/console/mail/{sent.id}")
    async with page.expect_response(f"**/console/mail/{sent.id}/reprocess") as answer:
        await page.get_by_role("button", name="Reprocess this email").click()
    assert (await answer.value).status == 409
    assert "already answered and sent" in await page.get_by_role("alert").inner_text()
    assert await _scalar(console, sql, k=s.key("sentalready")) is None
    assert _problems(page, 409) == []


async def test_mail_forms_without_the_csrf_token_are_refused(
    page: Any, console: Any, cleanup_extra: None
) -> None:
    s = console.seeder
    task = _task(s, "csrf", datetime.now(UTC) - timedelta(hours=1), status="dead_letter")
    await s.add(task)
    await console.sign_in(page)
    refused = await page.request.post(
        f"/console/mail/{task.id}/correction", form={"route": "faq", "intent": "shipping"}
    )
    assert refused.status == 403
    assert "Form refused" in await refused.text()
    refused = await page.request.post(
        f"/console/mail/{task.id}/reprocess", form={"idempotency_key": "console-x"}
    )
    assert refused.status == 403
    # In the browser: the correction form with its hidden token removed.
    await page.goto(f"/console/mail/{task.id}")
    await page.locator('#correction input[name="csrf_token"]').evaluate("e => e.remove()")
    async with page.expect_response(f"**/console/mail/{task.id}/correction") as answer:
        await page.get_by_role("button", name="Save the correction").click()
    assert (await answer.value).status == 403
    assert await page.get_by_role("heading", name="Form refused").is_visible()
    for table in ("routing_corrections", "reprocess_requests"):
        sql = f"SELECT count(*) FROM {table} WHERE message_key = :k"  # noqa: S608
        assert await _scalar(console, sql, k=s.key("csrf")) == 0


async def test_an_unknown_task_is_a_404_page(page: Any, console: Any) -> None:
    await console.sign_in(page)
    answer = await page.goto(f"/console/mail/{uuid.uuid4()}")
    assert answer.status == 404
    assert await page.get_by_role("heading", name="Email not found").is_visible()
