"""Drafts in a real Chromium: the proposed reply beside the customer's mail (escaped), an
edited reply approved (the DraftAction with the edited text on this server's
mail.draft-actions; the SMTP path of an approval is tests/e2e/test_drafts.py's), a draft
discarded, an empty reply refused, a form without the CSRF token refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from mailroom_common.db.models import EmailTask, ReplyDraft
from mailroom_common.events import DraftAction, InboundEmail, OutboundEmail
from mailroom_common.topics import DRAFT_ACTIONS

pytestmark = [pytest.mark.integration, pytest.mark.browser]

HOSTILE = '<img src=x onerror="alert(1)"><script>alert("body")</script>'


def _seed(seeder: Any, n: int, at: datetime) -> tuple[EmailTask, ReplyDraft]:
    key = seeder.key(n)
    customer = f"customer{n}@{seeder.tag}.example.com"
    original = InboundEmail(
        message_key=key,
        thread_key=key,
        mailbox="shop@mailroom.test",
        from_address=customer,
        subject=f"¿Envíos? {seeder.tag} {n}",
        text=f"Hola, ¿envían a Rosario? {HOSTILE}",
        producer="ingest",
    )
    task = EmailTask(
        message_key=key,
        thread_key=key,
        mailbox="shop@mailroom.test",
        from_address=customer,
        subject=original.subject,
        status="drafted",
        route="faq",
        received_at=at,
        created_at=at,
        updated_at=at,
        status_at=at,
        original=original.model_dump(mode="json"),
    )
    out = OutboundEmail(
        message_key=key,
        thread_key=key,
        to=customer,
        subject=f"Re: {original.subject}",
        body_text=f"Hola {n}, enviamos a todo el país.",
        in_reply_to=key,
        route="faq",
    )
    draft = ReplyDraft(
        message_key=key,
        kind="reply",
        smtp_message_id=f"<{uuid.uuid4().hex}.reply@mailroom.test>",
        thread_key=key,
        recipient=customer,
        subject=out.subject,
        body_text=out.body_text,
        route="faq",
        outbound=out.model_dump(mode="json"),
        folder="Drafts",
        state="filed",
        created_at=at,
    )
    return task, draft


@pytest.fixture
async def drafts(console: Any) -> Any:
    seeder = console.seeder
    now = datetime.now(UTC)
    rows = [_seed(seeder, n, now - timedelta(minutes=10 - n)) for n in (1, 2, 3)]
    await seeder.add(*(task for task, _ in rows))
    await seeder.add(*(draft for _, draft in rows))
    try:
        yield rows
    finally:
        async with seeder.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM reply_drafts WHERE message_key LIKE :p"),
                {"p": f"<console-{seeder.tag}-%"},
            )


async def test_a_draft_is_edited_and_approved_another_discarded(
    page: Any, console: Any, drafts: Any
) -> None:
    seeder = console.seeder
    await console.sign_in(page)
    await page.goto("/console/drafts")
    await page.get_by_role("heading", level=1, name="Drafts").wait_for()
    assert await page.locator('nav a[aria-current="page"]').inner_text() == "Drafts"
    mine = [
        k
        for k in await page.locator("article.draft").evaluate_all(
            "els => els.map(e => e.dataset.messageKey)"
        )
        if seeder.tag in k
    ]
    assert mine == [seeder.key(3), seeder.key(2), seeder.key(1)]  # newest first
    first = page.locator(f'article[data-message-key="{seeder.key(1)}"]')
    # The customer's mail beside the reply, as text.
    customer_text = await first.locator('[data-field="customer-text"]').inner_text()
    assert HOSTILE in customer_text
    assert await page.locator("article.draft img").count() == 0
    assert await first.locator('[data-field="from"]').inner_text() == (
        f"customer1@{seeder.tag}.example.com"
    )
    box = first.get_by_label("Reply text (you may edit it)")
    assert await box.input_value() == "Hola 1, enviamos a todo el país."
    await console.screenshot(page, "drafts")

    edited = "Hola 1: sí, enviamos a Rosario en 3 días hábiles.\nSaludos, la tienda"
    await box.fill(edited)
    await first.get_by_role("button", name="Approve and send").click()
    await page.wait_for_url("**/console/drafts?done=approved_edited")
    assert "Approved with your text" in await page.get_by_test_id("notice").inner_text()

    second = page.locator(f'article[data-message-key="{seeder.key(2)}"]')
    await second.get_by_role("button", name="Discard").click()
    await page.wait_for_url("**/console/drafts?done=discarded")
    assert "Discarded" in await page.get_by_test_id("notice").inner_text()

    actions = await console.records(DRAFT_ACTIONS, {seeder.key(1), seeder.key(2)}, expect=2)
    assert len(actions) == 2, actions
    by_key = {a.message_key: a for a in actions}
    approve = by_key[seeder.key(1)]
    assert isinstance(approve, DraftAction)
    # The textarea's CRLF came back as the LF the sender sends.
    assert (approve.action, approve.body_text, approve.actor) == ("approve", edited, "operator")
    discard = by_key[seeder.key(2)]
    assert (discard.action, discard.body_text) == ("discard", None)
    assert page.problems == []


async def test_an_unchanged_reply_is_approved_as_drafted_and_an_empty_one_refused(
    page: Any, console: Any, drafts: Any
) -> None:
    seeder = console.seeder
    await console.sign_in(page)
    await page.goto("/console/drafts")
    third = page.locator(f'article[data-message-key="{seeder.key(3)}"]')
    await third.get_by_label("Reply text (you may edit it)").fill("   ")
    # The browser's own check (required) would stop an empty box; spaces pass it.
    await third.get_by_role("button", name="Approve and send").click()
    assert "cannot be empty" in await page.get_by_test_id("error").inner_text()
    assert await console.records(DRAFT_ACTIONS, {seeder.key(3)}, expect=0, timeout_s=2) == []
    # Unchanged: approved as drafted (no body text in the action).
    await page.goto("/console/drafts")
    await (
        page.locator(f'article[data-message-key="{seeder.key(3)}"]')
        .get_by_role("button", name="Approve and send")
        .click()
    )
    await page.wait_for_url("**/console/drafts?done=approved")
    actions = await console.records(DRAFT_ACTIONS, {seeder.key(3)}, expect=1)
    assert [(a.action, a.body_text) for a in actions] == [("approve", None)]


async def test_a_draft_form_without_the_csrf_token_is_refused(
    page: Any, console: Any, drafts: Any
) -> None:
    seeder = console.seeder
    await console.sign_in(page)
    refused = await page.request.post(
        "/console/drafts/approve", form={"message_key": seeder.key(1), "body_text": "x"}
    )
    assert refused.status == 403
    discard = await page.request.post(
        "/console/drafts/discard", form={"message_key": seeder.key(1)}
    )
    assert discard.status == 403
    assert await console.records(DRAFT_ACTIONS, {seeder.key(1)}, expect=0, timeout_s=2) == []
