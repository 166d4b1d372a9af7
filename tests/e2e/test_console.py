"""The console in a real browser against the whole system (issue #15).

Debian's Chromium (Playwright, ``mailroom_devstack.browser``) signs in to the admin API's
console of a system whose FAQ answers are drafts, edits the filed draft on the Drafts page
and approves it: the sender sends it through the ledger, and the SMTP sink receives exactly
one message, with the edited text.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage

import pytest
from harness import (
    ADMIN_TOKEN,
    SHOP_DOMAIN,
    ImapFolder,
    MakeSystem,
    bare_id,
    customer_mail,
    sender_mailbox_env,
)

from mailroom_devstack.browser import chromium, missing_message
from mailroom_sender.message import make_message_id

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.mark.timeout(300)
async def test_a_draft_edited_and_approved_in_the_console_is_sent_once(
    make_system: MakeSystem, mail_folders: list[ImapFolder]
) -> None:
    missing = missing_message()
    if missing is not None:
        pytest.fail(missing)
    drafts, sent = mail_folders
    e = await make_system(
        env={"sender": {**sender_mailbox_env(drafts.name, sent.name), "SENDER_MODE_FAQ": "draft"}}
    )
    mid = e.message_id("console")
    key = bare_id(mid)
    await e.drop(
        [
            customer_mail(
                message_id=mid,
                from_addr=f"Cliente <{e.address('console')}>",
                subject="Envíos",
                body="Hola, ¿hacen envíos a Rosario? ¿Cuánto tarda en llegar?",
            )
        ]
    )
    await e.db.wait_status([key], "drafted", 90, e.system.logs)
    edited = "Hola: sí, enviamos a Rosario; llega en 3 a 5 días hábiles. ¡Gracias!"
    async with chromium() as browser:
        ctx = await browser.new_context(
            base_url=e.system.admin_url, extra_http_headers={"Accept-Language": "en"}
        )
        page = await ctx.new_page()
        await page.goto("/console/drafts")
        await page.wait_for_url("**/console/sign-in**")  # no session: sign in first
        await page.get_by_label("Admin token").fill(ADMIN_TOKEN)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/console/drafts**")
        draft = page.locator(f'article[data-message-key="{key}"]')
        await draft.get_by_label("Reply text (you may edit it)").fill(edited)
        await draft.get_by_role("button", name="Approve and send").click()
        await page.get_by_test_id("notice").wait_for()
        await ctx.close()
    await e.db.wait_status([key], "sent", 90, e.system.logs)
    await asyncio.sleep(2.0)  # a second copy would have had its chance
    ours = make_message_id(key, "reply", SHOP_DOMAIN)
    copies = [m for m in e.sink.entries() if bare_id(m["message_id"]) == bare_id(ours)]
    assert len(copies) == 1, copies
    parsed = email.message_from_bytes(e.sink.raw(copies[0]), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == edited
    print("\nconsole: draft edited and approved in Chromium → 1 message with the edited text")
