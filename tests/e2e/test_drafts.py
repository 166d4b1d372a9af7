"""Answer modes end to end (issue #14 items 1 and 2): drafts, a person's send, shadow mode.

* **drafts**: with ``SENDER_MODE_FAQ=draft`` FAQ answers land in the mailbox's Drafts folder
  with the headers they would be sent with (From, Subject, In-Reply-To, References,
  Message-ID, ``\\Draft``) and nothing reaches SMTP. Through the real admin API: an approved
  draft (edited) is sent exactly once and leaves Drafts; a discarded one is never sent; one
  a person sends from their own client (the test APPENDs it to Sent and sends it over SMTP
  itself) makes the task ``sent`` by a person, and no approval sends a second copy. Then the
  sender is SIGKILLed between "approved" and "sent" (the SMTP server answering 451 keeps the
  approved draft waiting) and again right after the server accepted one: one message each.
* **shadow**: ``MAILROOM_SHADOW=true``: nothing reaches SMTP or Drafts, answers are
  ``shadowed`` with the would-be reply, a hand-off stays ``handoff``, and /v1/stats shows a
  would-be automation rate above the real one.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import smtplib
import time
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from harness import (
    ADMIN_TOKEN,
    E2E,
    IMAP_HOST,
    IMAP_PORT,
    SALES_PASSWORD,
    SALES_USER,
    SHOP_ADDRESS,
    SHOP_DOMAIN,
    ImapFolder,
    MakeSystem,
    SentRelay,
    bare_id,
    customer_mail,
    in_folder,
    sender_mailbox_env,
    wait_until,
)
from imap_tools import AND, H, MailBoxUnencrypted

from mailroom_sender.message import make_message_id

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

FAQ = ("Envíos", "Hola, ¿hacen envíos a Rosario? ¿Cuánto tarda en llegar?")
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def remove_from(folder: str, message_id: str) -> None:
    with MailBoxUnencrypted(IMAP_HOST, IMAP_PORT, timeout=30).login(
        SALES_USER, SALES_PASSWORD, initial_folder=folder
    ) as box:
        box.delete(box.uids(AND(header=H("Message-ID", message_id))))


async def task(e: E2E, key: str) -> dict[str, Any]:
    return await e.db.task(key)


async def wait_status(e: E2E, keys: list[str], status: str, timeout: float = 90) -> None:
    await e.db.wait_status(keys, status, timeout, e.system.logs)


async def draft_state(e: E2E, key: str) -> str | None:
    found = await e.db.rows("SELECT state FROM reply_drafts WHERE message_key = $1", key)
    return str(found[0]["state"]) if found else None


async def admin(
    e: E2E, key: str, action: str, body: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(timeout=15.0, headers=AUTH) as http:
        return await http.post(
            f"{e.system.admin_url}/v1/drafts/{quote(key, safe='')}/{action}", json=body
        )


def sent_to_sink(e: E2E, message_id: str) -> list[dict[str, Any]]:
    return [m for m in e.sink.entries() if bare_id(m["message_id"]) == bare_id(message_id)]


@pytest.mark.timeout(420)
async def test_drafts_approved_discarded_sent_by_a_person_and_a_sigkill(
    make_system: MakeSystem, mail_folders: list[ImapFolder]
) -> None:
    drafts, sent = mail_folders
    env = {
        **sender_mailbox_env(drafts.name, sent.name),
        "SENDER_MODE_FAQ": "draft",
        # The relay below files what the SMTP server accepted in Sent, as Gmail does: the
        # crash rule may then trust "not in Sent" (accepted before the kill → confirmed).
        "SENDER_SENT_CHECK_ENABLED": "true",
        "SENDER_SENT_CHECK_AUTHORITATIVE": "true",
        "SENDER_STALE_SENDING_AFTER_S": "0",
    }
    e = await make_system(env={"sender": env})
    names = ["approve", "discard", "person", "kill451", "killaccept"]
    address = {n: e.address(n) for n in names}
    mid = {n: e.message_id(n) for n in names}
    key = {n: bare_id(mid[n]) for n in names}
    ours = {n: make_message_id(key[n], "reply", SHOP_DOMAIN) for n in names}
    await e.drop(
        [
            customer_mail(
                message_id=mid[n],
                from_addr=f"Cliente <{address[n]}>",
                subject=FAQ[0],
                body=FAQ[1],
                references=[f"<root-{n}-{e.tag}@customer.example>"],
                in_reply_to=f"<root-{n}-{e.tag}@customer.example>",
            )
            for n in names
        ]
    )
    stop = asyncio.Event()
    relay = SentRelay(e.sink, sent)
    relaying = asyncio.create_task(relay.run(stop))
    try:
        await wait_status(e, list(key.values()), "drafted")
        # ---- filed with the headers it would be sent with; nothing went out
        assert e.sink.entries() == []
        for n in names:
            [(draft, flags, _)] = await asyncio.to_thread(in_folder, drafts.name, ours[n])
            assert "\\Draft" in flags
            assert draft["Message-ID"] == ours[n]
            assert draft["From"] == f"Tienda Mailroom <{SHOP_ADDRESS}>"
            assert draft["To"] == address[n]
            assert draft["Subject"] == f"Re: {FAQ[0]}"
            assert draft["In-Reply-To"] == mid[n]
            assert draft["References"] == f"<root-{n}-{e.tag}@customer.example> {mid[n]}"
        listed = await _list_drafts(e)
        assert set(key.values()) <= {d["message_key"] for d in listed}

        # ---- approved with an edited text: sent once, gone from Drafts
        edited = "Hola, sí: enviamos a Rosario, llega en 3 a 5 días hábiles."
        approved = await admin(e, key["approve"], "approve", {"body_text": edited})
        assert approved.status_code == 202, approved.text
        # ---- discarded: never sent
        discarded = await admin(e, key["discard"], "discard")
        assert discarded.status_code == 202, discarded.text
        await wait_status(e, [key["approve"]], "sent")
        await wait_status(e, [key["discard"]], "discarded")

        # ---- a person sends the draft from their own client: files it in Sent, sends it
        [(_, _, raw)] = await asyncio.to_thread(in_folder, drafts.name, ours["person"])
        await asyncio.to_thread(sent.append, [raw])
        await asyncio.to_thread(remove_from, drafts.name, ours["person"])  # as clients do
        await asyncio.to_thread(_smtp_send, e.sink.port, address["person"], raw)
        await wait_status(e, [key["person"]], "sent")
        assert (await task(e, key["person"]))["status_reason"] == (
            "sent by a person from the mailbox"
        )
        late = await admin(e, key["person"], "approve")
        assert late.status_code == 409, late.text
        again = await admin(e, key["discard"], "approve")
        assert again.status_code == 409, again.text

        # ---- SIGKILL between "approved" and "sent": the server says 451 meanwhile
        _faults(e, {"mode": "reject", "code": 451, "message": "later", "match_to": "kill451"})
        assert (await admin(e, key["kill451"], "approve")).status_code == 202

        async def refused_once() -> bool:
            ledger = await e.db.ledger([key["kill451"]])
            return bool(ledger and ledger[0]["state"] == "pending")

        await wait_until(refused_once, 60, "the approved draft refused with 451", 0.1)
        assert await draft_state(e, key["kill451"]) == "approved"
        e.system["sender"].kill()
        _faults(e, {"mode": "accept"})
        e.system["sender"].start()
        await e.system["sender"].wait_healthy()
        await wait_status(e, [key["kill451"]], "sent")

        # ---- SIGKILL the moment the server accepted one
        assert (await admin(e, key["killaccept"], "approve")).status_code == 202
        deadline = time.monotonic() + 60
        while not sent_to_sink(e, ours["killaccept"]) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        e.system["sender"].kill()
        e.system["sender"].start()
        await e.system["sender"].wait_healthy()
        await wait_status(e, [key["killaccept"]], "sent")
        await asyncio.sleep(3.0)  # let any second copy show
    finally:
        stop.set()
        await relaying

    # ---- exactly one message per approved draft; none for the discarded one
    assert len(sent_to_sink(e, ours["approve"])) == 1
    body = email.message_from_bytes(
        e.sink.raw(sent_to_sink(e, ours["approve"])[0]), policy=email.policy.default
    )
    assert isinstance(body, EmailMessage)
    text = body.get_body(("plain",))
    assert text is not None
    assert text.get_content().strip() == edited
    assert sent_to_sink(e, ours["discard"]) == []
    assert len(sent_to_sink(e, ours["person"])) == 1  # the person's own send
    assert len(sent_to_sink(e, ours["kill451"])) == 1
    assert len(sent_to_sink(e, ours["killaccept"])) == 1
    states = {n: await draft_state(e, key[n]) for n in names}
    assert states == {
        "approve": "sent",
        "discard": "discarded",
        "person": "sent_by_person",
        "kill451": "sent",
        "killaccept": "sent",
    }
    for n in names:
        assert await asyncio.to_thread(in_folder, drafts.name, ours[n]) == [], f"{n} in Drafts"
    print(
        f"\ndrafts: 5 filed, 0 sent by themselves; approved 3 (one after a SIGKILL while the "
        f"server said 451, one killed at acceptance) → 1 message each; discarded 1 → 0; "
        f"sent by a person 1 → no second copy ({sent.name} got {relay.filed} via the relay)"
    )


async def _list_drafts(e: E2E) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=15.0, headers=AUTH) as http:
        response = await http.get(f"{e.system.admin_url}/v1/drafts", params={"limit": 200})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _faults(e: E2E, fault: dict[str, Any]) -> None:
    e.sink.faults.write_text(json.dumps(fault), encoding="utf-8")


def _smtp_send(port: int, to: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.sendmail(SHOP_ADDRESS, [to], raw)


@pytest.mark.timeout(300)
async def test_shadow_mode_decides_and_records_but_sends_and_files_nothing(
    make_system: MakeSystem, mail_folders: list[ImapFolder]
) -> None:
    drafts, sent = mail_folders
    e = await make_system(
        env={
            "common": {"MAILROOM_SHADOW": "true"},
            "sender": {
                **sender_mailbox_env(drafts.name, sent.name),
                "SENDER_MODE_CATALOGUE": "draft",
                "SENDER_MODE_LLM": "draft",
            },
        }
    )
    mails = {
        "faq": FAQ,
        "handoff": ("Pedido roto", "Mi pedido #4411 llegó roto. Quiero hablar con una persona."),
        "llm": ("Local", "Hola, ¿abren el local a la calle los domingos por la tarde?"),
    }
    key = {n: bare_id(e.message_id(n)) for n in mails}
    await e.drop(
        [
            customer_mail(
                message_id=e.message_id(n),
                from_addr=f"Cliente <{e.address(n)}>",
                subject=subject,
                body=body,
            )
            for n, (subject, body) in mails.items()
        ]
    )
    await wait_status(e, [key["faq"], key["llm"]], "shadowed", 120)
    await wait_status(e, [key["handoff"]], "handoff")

    async def ack_recorded() -> bool:
        changes = await e.db.status_changes(key["handoff"])
        return any((c["reason"] or "").startswith("handoff_ack shadow") for c in changes)

    await wait_until(ack_recorded, 60, "the acknowledgement's shadow record", 0.3)
    await asyncio.sleep(2.0)  # anything that would still go out has had its chance

    assert e.sink.entries() == []
    with MailBoxUnencrypted(IMAP_HOST, IMAP_PORT, timeout=30).login(
        SALES_USER, SALES_PASSWORD, initial_folder=drafts.name
    ) as box:
        assert list(box.uids()) == []
    faq = await task(e, key["faq"])
    assert faq["status_reason"] == "shadow: would send"
    assert faq["reply_text"]  # the would-be reply is shown
    llm = await task(e, key["llm"])
    assert llm["status_reason"].startswith("shadow: would draft"), llm
    assert llm["reply_text"]
    ledger = await e.db.ledger(list(key.values()))
    assert ledger
    assert {r["state"] for r in ledger} == {"suppressed"}
    async with httpx.AsyncClient(timeout=15.0, headers=AUTH) as http:
        stats = (await http.get(f"{e.system.admin_url}/v1/stats", params={"window": "1h"})).json()
    assert stats["would_be_automation_rate"] is not None
    assert stats["would_be_automation_rate"] > (stats["automation_rate"] or 0)
    print(
        f"\nshadow: 3 mails decided, 0 sent, 0 filed; would-be automation rate "
        f"{stats['would_be_automation_rate']} vs {stats['automation_rate']} (shared database)"
    )
