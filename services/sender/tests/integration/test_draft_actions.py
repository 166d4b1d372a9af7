"""Operators' decisions about drafts (``mail.draft-actions``) in the running sender."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.events import DraftAction, MailboxAction
from mailroom_common.topics import DRAFT_ACTIONS, MAILBOX_ACTIONS, OUTBOUND
from mailroom_sender.message import make_message_id

from .conftest import Bus, SmtpSink, eventually, make_settings, running
from .test_drafts import _draft_state, _task_status, folder_messages, imap_settings, mailbox
from .test_sender import reply
from .test_sent_watch import everything_on

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def _ledger(engine: AsyncEngine, key: str) -> tuple[str, str | None] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT state, last_error FROM send_ledger WHERE message_key = :k"),
                {"k": key},
            )
        ).first()
    return None if row is None else (str(row.state), row.last_error)


async def test_approve_sends_once_discard_never_and_a_persons_send_stops_an_approval(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    tag = uuid.uuid4().hex[:8]
    drafts, sent = f"Drafts-it-{tag}", f"Sent-it-{tag}"
    cfg = make_settings(
        bus.kafka,
        database_url,
        smtp_sink.port,
        mode_faq="draft",
        **imap_settings(drafts_folder=drafts, sent_check_folder=sent),
    )
    approved, discarded, by_person = reply(), reply(), reply()
    mids = {m.message_key: make_message_id(m.message_key, "reply", "mailroom.test") for m in
            (approved, discarded, by_person)}  # fmt: skip
    async with running(cfg, "all"):
        for out in (approved, discarded, by_person):
            await bus.publish(OUTBOUND, out, key=out.thread_key)

        async def all_drafted() -> bool:
            states = [await _task_status(db_engine, k) for k in mids]
            return states == ["drafted"] * 3

        await eventually(all_drafted)
        # A person sent the third one from their mail client: it is in Sent (the client
        # files it there), so the approval that follows must not send a second copy.
        copy = EmailMessage()
        copy["Message-ID"] = mids[by_person.message_key]
        copy["In-Reply-To"] = by_person.message_key
        copy.set_content("Hola, sí hay talle M (lo escribí yo).")
        await mailbox(sent_folder=sent).append("sent", copy.as_bytes())

        edited = "Hola, sí: hay talle M en negro y en azul."
        await bus.publish(
            DRAFT_ACTIONS,
            DraftAction(action="approve", message_key=approved.message_key, body_text=edited),
            key=approved.message_key,
        )
        await bus.publish(
            DRAFT_ACTIONS,
            DraftAction(action="discard", message_key=discarded.message_key, actor="ana"),
            key=discarded.message_key,
        )
        await bus.publish(
            DRAFT_ACTIONS,
            DraftAction(action="approve", message_key=by_person.message_key),
            key=by_person.message_key,
        )

        async def settled() -> bool:
            states = [await _task_status(db_engine, k) for k in mids]
            return states == ["sent", "discarded", "sent"]

        await eventually(settled)
        # Approvals again (a double click, a replay) and an approval of the discarded one.
        for out in (approved, discarded, by_person):
            await bus.publish(
                DRAFT_ACTIONS,
                DraftAction(action="approve", message_key=out.message_key),
                key=out.message_key,
            )
        await asyncio.sleep(2.0)
        states = {k: await _draft_state(db_engine, k) for k in mids}

    assert [r.message_id for r in smtp_sink.received] == [mids[approved.message_key]]
    got = smtp_sink.received[0].message
    body = got.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == edited
    assert got["In-Reply-To"] == approved.message_key
    assert states == {
        approved.message_key: "sent",
        discarded.message_key: "discarded",
        by_person.message_key: "sent_by_person",
    }
    assert await _ledger(db_engine, approved.message_key) == ("sent", None)
    assert await _ledger(db_engine, discarded.message_key) == (
        "suppressed",
        "draft discarded by ana",
    )
    assert await _ledger(db_engine, by_person.message_key) == (
        "sent",
        "sent by a person from the mailbox",
    )
    for key, mid in mids.items():
        assert folder_messages(drafts, mid) == [], f"draft of {key} left in Drafts"
    async with db_engine.connect() as conn:
        reasons = {
            r.message_key: r.status_reason
            for r in await conn.execute(
                text(
                    "SELECT message_key, status_reason FROM email_tasks WHERE message_key = ANY(:k)"
                ),
                {"k": list(mids)},
            )
        }
        texts = {
            r.message_key: r.reply_text
            for r in await conn.execute(
                text("SELECT message_key, reply_text FROM email_tasks WHERE message_key = ANY(:k)"),
                {"k": list(mids)},
            )
        }
    assert reasons[discarded.message_key] == "draft discarded by ana: nothing is sent"
    assert reasons[by_person.message_key] == "sent by a person from the mailbox"
    assert (reasons[approved.message_key] or "").startswith("accepted: 250")
    assert texts[approved.message_key] == edited


def _sent_copy(message_id: str, in_reply_to: str) -> bytes:
    msg = EmailMessage()
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = in_reply_to
    msg.set_content("Hola, te respondo yo.")
    return msg.as_bytes()


async def test_the_sent_watcher_finds_what_a_person_sent_and_ignores_mailrooms_own(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    tag = uuid.uuid4().hex[:8]
    drafts, sent = f"Drafts-it-{tag}", f"Sent-it-{tag}"
    cfg = make_settings(
        bus.kafka,
        database_url,
        smtp_sink.port,
        mode_faq="draft",
        sent_watch_interval_s=0.3,
        **imap_settings(drafts_folder=drafts, sent_check_folder=sent),
    )
    itself, own_reply, ours = reply(), reply(), reply()
    keys = [m.message_key for m in (itself, own_reply, ours)]
    async with running(cfg, "all"):
        for out in (itself, own_reply, ours):
            await bus.publish(OUTBOUND, out, key=out.thread_key)

        async def all_drafted() -> bool:
            return [await _task_status(db_engine, k) for k in keys] == ["drafted"] * 3

        await eventually(all_drafted)
        # mailroom's own holding reply to the third customer, filed in Sent (as Gmail does).
        holding_id = f"<{uuid.uuid4().hex}.holding@mailroom.test>"
        async with db_engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO send_ledger (id, message_key, kind, smtp_message_id, recipient,"
                    " state, attempts) VALUES (:id, :k, 'holding', :mid, :to, 'sent', 1)"
                ),
                {"id": uuid.uuid4(), "k": ours.message_key, "mid": holding_id, "to": ours.to},
            )
        box = mailbox(sent_folder=sent)
        own_id = make_message_id(itself.message_key, "reply", "mailroom.test")
        await box.append("sent", _sent_copy(holding_id, ours.message_key))
        await box.append("sent", _sent_copy(own_id, itself.message_key))  # the draft, sent
        person_id = f"<CAF-{uuid.uuid4().hex}@mail.gmail.com>"
        await box.append("sent", _sent_copy(person_id, own_reply.message_key))  # their own
        # A new conversation the shop started: no customer's thread, nothing to report.
        news = EmailMessage()
        news["Message-ID"] = f"<news-{uuid.uuid4().hex}@mail.gmail.com>"
        news.set_content("Novedades de otoño.")
        await box.append("sent", news.as_bytes())

        async def found() -> bool:
            return [await _task_status(db_engine, k) for k in keys[:2]] == ["sent", "sent"]

        await eventually(found)
        # The person's own answer is a colleague's reply: its thread becomes theirs.
        await bus.collect(
            MAILBOX_ACTIONS,
            until=lambda events: any(
                isinstance(e, MailboxAction) and e.message_id == person_id for e in events
            ),
        )
        # An approval afterwards sends no second copy.
        await bus.publish(
            DRAFT_ACTIONS,
            DraftAction(action="approve", message_key=itself.message_key),
            key=itself.message_key,
        )
        await asyncio.sleep(2.0)
        states = [await _draft_state(db_engine, k) for k in keys]
        third = await _task_status(db_engine, ours.message_key)
    assert smtp_sink.received == []
    # Reported once (the watermark moved on), and nothing else: neither the draft a person
    # sent (mailroom's text) nor mailroom's holding reply nor the new conversation.
    actions = await everything_on(bus, MAILBOX_ACTIONS)
    assert [(a.action, a.message_id) for a in actions if isinstance(a, MailboxAction)] == [
        ("shop_reply", person_id)
    ]
    (action,) = actions
    assert isinstance(action, MailboxAction)
    assert action.thread_ids == [person_id, own_reply.message_key]
    assert action.thread_key == own_reply.message_key.strip("<>")
    assert action.folder == sent
    assert states == ["sent_by_person", "sent_by_person", "filed"]
    assert third == "drafted"
    for key in keys[:2]:
        assert await _ledger(db_engine, key) == ("sent", "sent by a person from the mailbox")
    # The person's own answer made the draft obsolete: it is gone from Drafts.
    mid = make_message_id(own_reply.message_key, "reply", "mailroom.test")
    assert folder_messages(drafts, mid) == []
    assert (
        len(folder_messages(drafts, make_message_id(ours.message_key, "reply", "mailroom.test")))
        == 1
    )
