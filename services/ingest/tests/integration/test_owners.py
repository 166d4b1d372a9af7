"""OwnerStore against the real PostgreSQL: threads a person owns (#14 item 4)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.events import MailboxAction
from mailroom_ingest.owners import SHOP_REPLY_REASON, OwnerStore, ownership_change

pytestmark = pytest.mark.integration


async def rows(pg: Any, thread: str) -> dict[str, dict[str, Any]]:
    found = await pg("SELECT * FROM thread_owners WHERE thread = $1", thread)
    return {r["thread_id"]: r for r in found}


def act(action: str, message_id: str, ids: list[str], root: str, **kw: Any) -> MailboxAction:
    return MailboxAction(
        producer="test",
        action=action,  # type: ignore[arg-type]
        message_key=message_id,
        mailbox="shop",
        message_id=message_id,
        thread_ids=ids,
        thread_key=root,
        **kw,
    )


async def apply(store: OwnerStore, action: MailboxAction) -> str:
    change = ownership_change(action)
    assert change is not None
    return await store.apply(change)


async def test_owned_extended_released_and_owned_again(db_engine: AsyncEngine, pg: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    root, m1, m2, c1 = (f"<{n}-{tag}@customer.example>" for n in ("root", "m1", "m2", "c1"))
    store = OwnerStore(db_engine)
    try:
        # a hand-off owns every id of the thread, grouped under the root
        assert await apply(store, act("handoff", m1, [m1, root], root, reason="chargeback")) == (
            "owned"
        )
        first = await rows(pg, root)
        assert set(first) == {m1, root}
        assert {r["reason"] for r in first.values()} == {"chargeback"}
        assert all(r["released_at"] is None for r in first.values())
        # a redelivered hand-off changes nothing but the activity time
        assert await apply(store, act("handoff", m1, [m1, root], root, reason="chargeback")) == (
            "owned"
        )
        assert set(await rows(pg, root)) == {m1, root}
        # the customer's next mail (quoting only m1) joins the thread and keeps it fresh
        assert await apply(store, act("human_owned", m2, [m2, m1], "<other-root@x>")) == "touched"
        second = await rows(pg, root)
        assert set(second) == {m1, m2, root}
        assert second[m2]["reason"] == "chargeback"
        assert second[root]["last_activity_at"] >= first[root]["last_activity_at"]
        # each row keeps the mail that made it owned (never held against that mail)
        assert {k: r["message_key"] for k, r in second.items()} == {m1: m1, root: m1, m2: m2}
        # released by the operator (as the admin API does): a late touch does not re-own it
        await pg(
            "UPDATE thread_owners SET released_at = now(), released_by = 'op' WHERE thread = $1",
            root,
        )
        assert await apply(store, act("human_owned", m2, [m2, m1], root)) == "not_owned"
        assert all(r["released_at"] is not None for r in (await rows(pg, root)).values())
        # a colleague's reply owns it again, with a new owned_since
        assert await apply(store, act("shop_reply", c1, [c1, m2, root], root)) == "owned"
        third = await rows(pg, root)
        assert set(third) == {m1, m2, root, c1}
        assert third[c1]["reason"] == SHOP_REPLY_REASON
        assert third[m2]["released_at"] is None
        assert third[m2]["released_by"] is None
        assert third[m2]["owned_since"] > second[m2]["owned_since"]
        assert third[m1]["released_at"] is not None  # not in this reply's chain
        # released again; the same reply reported again (INBOX and Sent, or after a
        # restart of the Sent watcher) does not re-own it
        await pg("UPDATE thread_owners SET released_at = now() WHERE thread = $1", root)
        assert await apply(store, act("shop_reply", c1, [c1, m2, root], root)) == "seen"
        assert all(r["released_at"] is not None for r in (await rows(pg, root)).values())
    finally:
        await pg("DELETE FROM thread_owners WHERE thread = $1", root)


async def test_a_reply_the_ledger_sent_owns_nothing(db_engine: AsyncEngine, pg: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    ours, customer = f"<ours-{tag}.reply@shop.example>", f"<c-{tag}@customer.example>"
    await pg(
        "INSERT INTO send_ledger (id, message_key, kind, smtp_message_id, recipient, state,"
        " attempts) VALUES ($1, $2, 'reply', $3, 'c@customer.example', 'sent', 1)",
        uuid.uuid4(),
        customer,
        ours,
    )
    store = OwnerStore(db_engine)
    try:
        # ingest may see the id without brackets; the ledger stores them
        bare = ours.strip("<>")
        assert await apply(store, act("shop_reply", bare, [bare, customer], customer)) == "ours"
        assert await rows(pg, customer) == {}
    finally:
        await pg("DELETE FROM send_ledger WHERE smtp_message_id = $1", ours)
