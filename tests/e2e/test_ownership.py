"""Threads a person owns, end to end (issue #14 items 3 and 4).

With the four real services, Dovecot, Kafka, PostgreSQL and the SMTP sink:

* a hand-off is flagged (``\\Flagged`` + ``$MailroomHandoff``) and left unseen in INBOX;
  the customer's next mail in that thread is recorded ``human_owned`` (with the reason),
  flagged too, and not answered;
* a colleague's reply from the shop's address (Cc'd to the mailbox, so it lands in INBOX)
  and a colleague's reply filed in the Sent folder (sent from their own client, not by
  mailroom) each make the thread a person's: the customer's next mail is not answered;
* once the operator releases the handed-off thread (admin API), the next mail in it is
  answered again.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from harness import (
    ADMIN_TOKEN,
    E2E,
    SALES_USER,
    SHOP_ADDRESS,
    ImapFolder,
    MakeSystem,
    bare_id,
    customer_mail,
    in_folder,
    sender_mailbox_env,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FAQ = ("Envíos", "Hola, ¿hacen envíos a Rosario? ¿Cuánto tarda en llegar?")
HANDOFF = ("Pedido roto", "Mi pedido #4411 llegó roto. Quiero hablar con una persona.")
OWNED = "thread owned by a person: "


async def wait_status(e: E2E, key: str, status: str, timeout: float = 90) -> dict[str, Any]:
    [found] = await e.db.wait_status([key], status, timeout, e.system.logs)
    return found


async def wait_owned(e: E2E, message_id: str, timeout: float = 60) -> str:
    async def check() -> str | None:
        found = await e.db.rows(
            "SELECT thread FROM thread_owners WHERE thread_id = $1 AND released_at IS NULL",
            message_id,
        )
        return str(found[0]["thread"]) if found else None

    thread: str = await wait_until(check, timeout, f"{message_id} owned", 0.3, e.system.logs)
    return thread


async def flags(folder: str, message_id: str) -> set[str]:
    [(_, found, _)] = await asyncio.to_thread(in_folder, folder, message_id)
    return set(found)


@pytest.mark.timeout(420)
async def test_handed_off_and_colleague_threads_are_a_persons_until_released(
    make_system: MakeSystem, mail_folders: list[ImapFolder]
) -> None:
    drafts, sent_folder = mail_folders
    e = await make_system(
        env={
            "responder": {"RESPONDER_OWNERS_REFRESH_S": "0.5"},
            "sender": sender_mailbox_env(drafts.name, sent_folder.name),
        }
    )
    inbox = e.folder.name
    who = {n: e.address(n) for n in ("handoff", "inbox", "sent")}
    mid = {
        n: e.message_id(n)
        for n in ("a", "b", "e", "c", "d", "f", "g", "colleague-inbox", "colleague-sent")
    }
    mid["colleague-inbox"] = mid["colleague-inbox"].replace("customer.example", "mailroom.test")
    mid["colleague-sent"] = mid["colleague-sent"].replace("customer.example", "mailroom.test")

    def mail(n: str, to_whom: str, text: tuple[str, str], *parents: str) -> bytes:
        return customer_mail(
            message_id=mid[n],
            from_addr=f"Cliente <{who[to_whom]}>",
            subject=text[0] if not parents else f"Re: {text[0]}",
            body=text[1],
            in_reply_to=mid[parents[-1]] if parents else None,
            references=[mid[p] for p in parents],
        )

    def from_colleague(n: str, to_whom: str, parent: str, body: str) -> bytes:
        """A reply somebody at the shop wrote from their own client (Cc'd to the mailbox)."""
        return customer_mail(
            message_id=mid[n],
            from_addr=f"Laura (Tienda) <{SHOP_ADDRESS}>",
            to=who[to_whom],
            subject=f"Re: {FAQ[0]}",
            body=body,
            in_reply_to=mid[parent],
            references=[mid[parent]],
            headers=[("Cc", SALES_USER)],
        )

    # ---- thread 1: handed off, flagged and unseen; the next mail is the person's
    await e.drop([mail("a", "handoff", HANDOFF)])
    await wait_status(e, bare_id(mid["a"]), "handoff")
    thread = await wait_owned(e, mid["a"])
    assert thread == mid["a"]

    async def flagged() -> bool:
        now = await flags(inbox, mid["a"])
        return {"\\Flagged", "$MailroomHandoff"} <= now and "\\Seen" not in now

    await wait_until(flagged, 30, "the hand-off flagged and unseen", 0.3)
    await e.drop([mail("b", "handoff", FAQ, "a")])
    owned = await wait_status(e, bare_id(mid["b"]), "human_owned")
    assert owned["status_reason"].startswith(OWNED), owned

    async def b_flagged() -> bool:
        return "\\Flagged" in await flags(inbox, mid["b"])

    await wait_until(b_flagged, 30, "the later mail flagged for the person", 0.3)

    # ---- thread 2: answered, then a colleague replied (Cc'd to the mailbox: INBOX)
    await e.drop([mail("c", "inbox", FAQ)])
    await wait_status(e, bare_id(mid["c"]), "sent")
    colleague = from_colleague(
        "colleague-inbox", "inbox", "c", "Hola, te escribo yo: ¿me pasás tu código postal?"
    )
    await e.drop([colleague])
    await wait_owned(e, mid["colleague-inbox"])
    await e.drop([mail("d", "inbox", FAQ, "c", "colleague-inbox")])
    owned = await wait_status(e, bare_id(mid["d"]), "human_owned")
    assert owned["status_reason"] == OWNED + "a person at the shop replied (seen in the inbox)"

    # ---- thread 3: answered, then a colleague replied from their own client (Sent)
    await e.drop([mail("f", "sent", FAQ)])
    await wait_status(e, bare_id(mid["f"]), "sent")
    from_client = from_colleague(
        "colleague-sent", "sent", "f", "Hola, te llamo mañana para coordinar."
    )
    await asyncio.to_thread(sent_folder.append, [from_client])
    await wait_owned(e, mid["colleague-sent"])
    await e.drop([mail("g", "sent", FAQ, "f", "colleague-sent")])
    await wait_status(e, bare_id(mid["g"]), "human_owned")

    # ---- the operator releases thread 1: the next mail in it is answered again
    async with httpx.AsyncClient(timeout=15.0, headers=AUTH) as http:
        listed = await http.get(f"{e.system.admin_url}/v1/threads/owned", params={"limit": 200})
        assert listed.status_code == 200, listed.text
        assert thread in {t["thread"] for t in listed.json()["items"]}
        released = await http.post(
            f"{e.system.admin_url}/v1/threads/{quote(thread, safe='')}/release"
        )
        assert released.status_code == 200, released.text
        again = await http.post(f"{e.system.admin_url}/v1/threads/{quote(thread, safe='')}/release")
        assert again.status_code == 404, again.text
    await asyncio.sleep(2.0)  # the responder's index refreshes every 0.5 s
    await e.drop([mail("e", "handoff", FAQ, "a", "b")])
    await wait_status(e, bare_id(mid["e"]), "sent")

    # ---- nothing answered while a person owned the thread
    ledger = await e.db.ledger([bare_id(mid[n]) for n in ("b", "d", "g")])
    assert [r for r in ledger if r["kind"] == "reply"] == [], ledger
    print(
        "\nownership: hand-off flagged+unseen; follow-ups in a handed-off thread, after a "
        "colleague's reply in INBOX and after one in Sent → human_owned, unanswered; "
        "released → answered again"
    )
