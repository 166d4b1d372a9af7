"""imap-tools against the running Dovecot (plain/STARTTLS 21143, IMAPS 21993)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from imap_tools import AND, BaseMailBox

from mailroom_devstack.mail_drop import (
    SALES_PASSWORD,
    SALES_USER,
    SHOP_PASSWORD,
    SHOP_USER,
    Security,
    drop_mail,
    open_mailbox,
)

from .conftest import require_port

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _imap_up() -> None:
    require_port(21143, "Dovecot IMAP")
    require_port(21993, "Dovecot IMAPS")


@pytest.fixture
def cleanup() -> Iterator[list[tuple[str, str, str]]]:
    """(user, password, subject token) of mails to delete after the test."""
    dropped: list[tuple[str, str, str]] = []
    yield dropped
    for user, password, token in dropped:
        with open_mailbox().login(user, password) as mb:
            uids = [m.uid for m in mb.fetch(AND(subject=token), mark_seen=False) if m.uid]
            if uids:
                mb.delete(uids)


def _find(mb: BaseMailBox, token: str) -> list[str]:
    return [m.subject for m in mb.fetch(AND(subject=token), mark_seen=False)]


@pytest.mark.parametrize("security", ["plain", "starttls", "ssl"])
def test_login_and_fetch_dropped_mail(
    security: Security, cleanup: list[tuple[str, str, str]]
) -> None:
    token = uuid.uuid4().hex
    subject = f"¿Tienen la taza azul? {token}"
    message_id = drop_mail(
        from_addr="Ana <ana@example.com>", subject=subject, body=f"Hola, quiero una taza. {token}"
    )
    cleanup.append((SHOP_USER, SHOP_PASSWORD, token))
    with open_mailbox(security=security).login(SHOP_USER, SHOP_PASSWORD) as mb:
        messages = list(mb.fetch(AND(subject=token), mark_seen=False))
    assert len(messages) == 1
    msg = messages[0]
    assert msg.subject == subject
    assert msg.from_ == "ana@example.com"
    assert token in msg.text
    assert msg.headers["message-id"][0].strip() == message_id


def test_wrong_password_is_refused() -> None:
    with pytest.raises(Exception, match=r"(?i)auth|fail"):
        open_mailbox().login(SHOP_USER, "wrong")


def test_idle_wakes_on_new_mail(cleanup: list[tuple[str, str, str]]) -> None:
    token = uuid.uuid4().hex
    cleanup.append((SALES_USER, SALES_PASSWORD, token))

    def drop() -> None:
        drop_mail(
            from_addr="Bob <bob@example.com>",
            subject=f"idle {token}",
            body="hello",
            to=SALES_USER,
            user=SALES_USER,
            password=SALES_PASSWORD,
        )

    with open_mailbox().login(SALES_USER, SALES_PASSWORD) as mb:
        timer = threading.Timer(0.5, drop)
        timer.start()
        try:
            deadline = time.monotonic() + 10
            responses: list[bytes] = []
            while time.monotonic() < deadline:
                responses = mb.idle.wait(timeout=5)
                if any(b"EXISTS" in r for r in responses):
                    break
        finally:
            timer.join()
        assert any(b"EXISTS" in r for r in responses), responses
        assert _find(mb, token) == [f"idle {token}"]
