"""Drafts against the stack's Dovecot: SPECIAL-USE folders, filing once, even after a crash."""

from __future__ import annotations

import email
import email.policy
import uuid
from email.message import EmailMessage
from typing import Any

import pytest
from imap_tools import AND, H, MailBox
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.topics import OUTBOUND
from mailroom_sender.mailbox import Mailbox, MailboxConfig
from mailroom_sender.message import make_message_id

from .conftest import Bus, SmtpSink, eventually, make_settings, running
from .test_sender import reply

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

IMAP = {"host": "127.0.0.1", "port": 21993, "user": "shop@mailroom.test", "pw": "shop-secret"}


def mailbox(**folders: str) -> Mailbox:
    return Mailbox(
        MailboxConfig(
            host=IMAP["host"],
            port=int(IMAP["port"]),
            security="tls",
            username=str(IMAP["user"]),
            password=str(IMAP["pw"]),
            verify_tls=False,
            timeout_s=10,
            **folders,
        )
    )


def imap_settings(**more: Any) -> dict[str, Any]:
    return {
        "sent_check_host": IMAP["host"],
        "sent_check_port": IMAP["port"],
        "sent_check_user": IMAP["user"],
        "sent_check_password": IMAP["pw"],
        "sent_check_tls_verify": False,
        **more,
    }


def folder_messages(folder: str, message_id: str) -> list[tuple[EmailMessage, tuple[str, ...]]]:
    import ssl

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with MailBox(str(IMAP["host"]), int(IMAP["port"]), ssl_context=ctx).login(
        str(IMAP["user"]), str(IMAP["pw"]), initial_folder=folder
    ) as box:
        found = []
        for msg in box.fetch(AND(header=H("Message-ID", message_id)), mark_seen=False):
            parsed = email.message_from_bytes(msg.obj.as_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append((parsed, tuple(msg.flags)))
        return found


async def test_special_use_folders_are_found_and_a_named_one_is_created() -> None:
    box = mailbox()
    # Dovecot marks them (deploy/local/stack.sh: special_use = \Drafts, \Sent).
    assert await box.folder("drafts") == "Drafts"
    assert await box.folder("sent") == "Sent"
    name = f"Borradores-{uuid.uuid4().hex[:8]}"
    named = mailbox(drafts_folder=name)
    assert await named.folder("drafts") == name
    mid = f"<{uuid.uuid4().hex}@mailroom.test>"
    msg = EmailMessage()
    msg["Message-ID"] = mid
    msg.set_content("hola")
    assert await named.append("drafts", msg.as_bytes(), draft=True) == name
    assert await named.contains("drafts", mid)
    assert await named.delete("drafts", mid) == 1
    assert not await named.contains("drafts", mid)


async def _draft_state(engine: AsyncEngine, key: str) -> str | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT state FROM reply_drafts WHERE message_key = :k"), {"k": key}
            )
        ).first()
    return None if row is None else str(row.state)


async def _task_status(engine: AsyncEngine, key: str) -> str | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status FROM email_tasks WHERE message_key = :k"), {"k": key}
            )
        ).first()
    return None if row is None else str(row.status)


async def test_a_draft_is_filed_once_with_the_headers_it_would_be_sent_with(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    folder = f"Drafts-it-{uuid.uuid4().hex[:8]}"
    cfg = make_settings(
        bus.kafka,
        database_url,
        smtp_sink.port,
        mode_faq="draft",
        **imap_settings(drafts_folder=folder),
    )
    out = reply()
    # A draft whose filing crashed after the APPEND: claimed, and already in the folder.
    crashed = reply()
    crashed_id = make_message_id(crashed.message_key, "reply", "mailroom.test")
    async with db_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO reply_drafts (id, message_key, kind, smtp_message_id, recipient,"
                " body_text, outbound, state) VALUES (:id, :k, 'reply', :mid, :to, :body,"
                " CAST(:out AS jsonb), 'filing')"
            ),
            {
                "id": uuid.uuid4(),
                "k": crashed.message_key,
                "mid": crashed_id,
                "to": crashed.to,
                "body": crashed.body_text,
                "out": crashed.model_dump_json(),
            },
        )
    early = EmailMessage()
    early["Message-ID"] = crashed_id
    early.set_content(crashed.body_text)
    await mailbox(drafts_folder=folder).append("drafts", early.as_bytes(), draft=True)

    async with running(cfg, "all"):
        for message in (out, crashed):
            await bus.publish(OUTBOUND, message, key=message.thread_key)
            await bus.publish(OUTBOUND, message, key=message.thread_key)  # and a duplicate

        async def both_drafted() -> bool:
            statuses = [await _task_status(db_engine, m.message_key) for m in (out, crashed)]
            return statuses == ["drafted", "drafted"]

        await eventually(both_drafted)
        assert await _draft_state(db_engine, out.message_key) == "filed"
        assert await _draft_state(db_engine, crashed.message_key) == "filed"

    assert smtp_sink.received == []  # a draft is never sent by itself
    mid = make_message_id(out.message_key, "reply", "mailroom.test")
    [(draft, flags)] = folder_messages(folder, mid)
    assert "\\Draft" in flags
    assert draft["Message-ID"] == mid
    assert draft["From"] == "Tienda Test <shop@mailroom.test>"
    assert draft["To"] == out.to
    assert draft["Subject"] == "Re: ¿Tienen talle M?"
    assert draft["In-Reply-To"] == out.message_key
    assert draft["References"] == f"{out.references[0]} {out.message_key}"
    body = draft.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == out.body_text
    assert len(folder_messages(folder, crashed_id)) == 1  # looked up, not appended again
