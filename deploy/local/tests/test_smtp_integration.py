"""aiosmtplib against the running SMTP sink (127.0.0.1:21025) and its fault file."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
import pytest

from mailroom_devstack.sent_list import read_index

from .conftest import STATE_DIR, require_port

pytestmark = pytest.mark.integration

OUTBOX = STATE_DIR / "smtp" / "outbox"
FAULTS = STATE_DIR / "smtp" / "faults.json"


def _message(token: str, to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Shop <shop@mailroom.test>"
    msg["To"] = to
    msg["Subject"] = f"Re: pedido {token}"
    msg["Message-ID"] = make_msgid(idstring=token, domain="mailroom.test")
    msg.set_content(f"Gracias por su pedido {token}.")
    return msg


async def _send(msg: EmailMessage) -> None:
    await aiosmtplib.send(
        msg, hostname="127.0.0.1", port=21025, start_tls=False, use_tls=False, timeout=10
    )


@pytest.fixture
def stored_files() -> Iterator[list[Path]]:
    """Collects .eml files a test made the sink store, and deletes them afterwards."""
    require_port(21025, "SMTP sink")
    files: list[Path] = []
    yield files
    for path in files:
        path.unlink(missing_ok=True)


@pytest.fixture
def set_faults() -> Iterator[Callable[[dict[str, object]], None]]:
    """Writes the fault file atomically; restores what was there before afterwards."""
    require_port(21025, "SMTP sink")
    before = FAULTS.read_bytes() if FAULTS.exists() else None

    def write(data: dict[str, object]) -> None:
        FAULTS.parent.mkdir(parents=True, exist_ok=True)
        tmp = FAULTS.with_name(f".faults-{uuid.uuid4().hex}.json")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, FAULTS)

    yield write
    if before is None:
        FAULTS.unlink(missing_ok=True)
    else:
        tmp = FAULTS.with_name(f".faults-{uuid.uuid4().hex}.json")
        tmp.write_bytes(before)
        os.replace(tmp, FAULTS)


def _stored(message_id: str) -> list[dict[str, object]]:
    return [e for e in read_index(OUTBOX) if e["message_id"] == message_id]


async def test_sink_stores_message(stored_files: list[Path]) -> None:
    token = uuid.uuid4().hex
    msg = _message(token, f"ana+{token}@example.com")
    await _send(msg)
    entries = _stored(str(msg["Message-ID"]))
    assert len(entries) == 1
    entry = entries[0]
    path = OUTBOX / str(entry["file"])
    stored_files.append(path)
    assert entry["subject"] == f"Re: pedido {token}"
    assert entry["envelope_to"] == [f"ana+{token}@example.com"]
    assert entry["from"] == "Shop <shop@mailroom.test>"
    assert path.name.endswith(".eml")
    assert token in path.name
    assert f"Gracias por su pedido {token}.".encode() in path.read_bytes()


async def test_auth_is_accepted(stored_files: list[Path]) -> None:
    token = uuid.uuid4().hex
    msg = _message(token, f"auth+{token}@example.com")
    await aiosmtplib.send(
        msg,
        hostname="127.0.0.1",
        port=21025,
        start_tls=False,
        username="anyone",
        password="anything",
        timeout=10,
    )
    entries = _stored(str(msg["Message-ID"]))
    assert len(entries) == 1
    stored_files.append(OUTBOX / str(entries[0]["file"]))


async def test_fault_451_then_accept(
    set_faults: Callable[[dict[str, object]], None], stored_files: list[Path]
) -> None:
    token = uuid.uuid4().hex
    rcpt = f"temp+{token}@example.com"
    set_faults({"mode": "reject", "code": 451, "message": "try later", "match_to": rcpt})
    msg = _message(token, rcpt)
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        await _send(msg)
    assert info.value.code == 451
    assert "try later" in info.value.message
    assert _stored(str(msg["Message-ID"])) == []
    set_faults({"mode": "accept"})
    await _send(msg)
    entries = _stored(str(msg["Message-ID"]))
    assert len(entries) == 1
    stored_files.append(OUTBOX / str(entries[0]["file"]))


async def test_fault_count_550(
    set_faults: Callable[[dict[str, object]], None], stored_files: list[Path]
) -> None:
    token = uuid.uuid4().hex
    rcpt = f"perm+{token}@example.com"
    set_faults(
        {"mode": "reject", "code": 550, "message": "no such user", "count": 1, "match_to": rcpt}
    )
    msg = _message(token, rcpt)
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        await _send(msg)
    assert info.value.code == 550
    await _send(msg)  # count used up: accepted
    entries = _stored(str(msg["Message-ID"]))
    assert len(entries) == 1
    stored_files.append(OUTBOX / str(entries[0]["file"]))


async def test_fault_421_at_rcpt(set_faults: Callable[[dict[str, object]], None]) -> None:
    token = uuid.uuid4().hex
    rcpt = f"busy+{token}@example.com"
    set_faults({"mode": "reject", "code": 421, "stage": "rcpt", "match_to": rcpt})
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
        await _send(_message(token, rcpt))
    assert [r.code for r in info.value.recipients] == [421]
