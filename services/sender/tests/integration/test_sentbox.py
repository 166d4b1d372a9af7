"""The Sent-folder check against the stack's Dovecot (the crash rule's evidence)."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.events import AlertEvent
from mailroom_common.topics import ALERTS
from mailroom_sender.message import make_message_id
from mailroom_sender.sentbox import SentFolder, SentFolderConfig

from .conftest import Bus, SmtpSink, make_settings, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _box() -> SentFolder:
    return SentFolder(
        SentFolderConfig(
            host="127.0.0.1",
            port=21993,
            security="tls",
            username="shop@mailroom.test",
            password="shop-secret",
            folder="Sent",
            verify_tls=False,
            timeout_s=10,
        )
    )


async def test_appended_message_is_found_by_its_message_id() -> None:
    box = _box()
    mid = f"<{uuid.uuid4().hex}.reply@mailroom.test>"
    msg = EmailMessage()
    msg["Message-ID"] = mid
    msg["From"] = "shop@mailroom.test"
    msg["To"] = "ana@example.com"
    msg["Subject"] = "Re: prueba"
    msg.set_content("hola")
    assert not await box.contains(mid)
    await box.append(msg.as_bytes())
    assert await box.contains(mid)
    assert not await box.contains(f"<{uuid.uuid4().hex}.reply@mailroom.test>")


async def test_crash_rule_uses_the_sent_folder(
    bus: Bus, smtp_sink: SmtpSink, database_url: str, db_engine: AsyncEngine
) -> None:
    """Rows left in 'sending': found in Sent → sent; not found (not authoritative) → uncertain."""
    tag = uuid.uuid4().hex[:8]
    keys = {"found": f"<found-{tag}@c.com>", "missing": f"<missing-{tag}@c.com>"}
    async with db_engine.begin() as conn:
        for name, key in keys.items():
            await conn.execute(
                text(
                    "INSERT INTO send_ledger (id, message_key, kind, smtp_message_id, recipient,"
                    " thread_key, state, attempts, created_at, updated_at) VALUES (:id, :k,"
                    " 'reply', :mid, :r, :t, 'sending', 1, now(), now())"
                ),
                {
                    "id": uuid.uuid4(),
                    "k": key,
                    "mid": make_message_id(key, "reply", "mailroom.test"),
                    "r": f"{name}-{tag}@example.com",
                    "t": f"t-{name}-{tag}",
                },
            )
    msg = EmailMessage()
    msg["Message-ID"] = make_message_id(keys["found"], "reply", "mailroom.test")
    msg["Subject"] = "Re: x"
    msg.set_content("hola")
    await _box().append(msg.as_bytes())
    cfg = make_settings(
        bus.kafka,
        database_url,
        smtp_sink.port,
        sent_check_enabled=True,
        sent_check_user="shop@mailroom.test",
        sent_check_password="shop-secret",
        sent_check_tls_verify=False,
        stale_sending_after_s=0,
    )
    async with running(cfg, "send"):
        pass  # the start-up sweep runs before the service reports ready
    async with db_engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT message_key, state FROM send_ledger WHERE message_key = ANY(:k)"),
            {"k": list(keys.values())},
        )
        states = {r.message_key: r.state for r in rows}
    assert states == {keys["found"]: "sent", keys["missing"]: "uncertain"}
    alerts = await bus.collect(ALERTS, lambda ev: len(ev) >= 1)
    assert [a.message_key for a in alerts if isinstance(a, AlertEvent)] == [keys["missing"]]
    assert smtp_sink.received == []
