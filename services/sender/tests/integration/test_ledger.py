"""The send ledger against real PostgreSQL: states, guards under concurrency, batched 'sent'."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pydantic import SecretStr

from mailroom_common.config import DatabaseSettings
from mailroom_sender.guards import GuardLimits
from mailroom_sender.ledger import ClaimAction, Ledger, SendRequest
from mailroom_sender.pgpool import open_pool

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

WORKERS = 8


PREFIX = "ledger-test-"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await open_pool(DatabaseSettings(url=SecretStr(database_url)), WORKERS + 1)
    yield p
    # The database is shared by the session: rows left in 'sending' would be picked up by
    # another test's start-up sweep of stale rows.
    await p.execute("DELETE FROM send_ledger WHERE message_key LIKE $1", f"<{PREFIX}%")
    await p.execute("DELETE FROM suppressions WHERE address LIKE $1", f"{PREFIX}%")
    await p.close()


def ledger(pool: asyncpg.Pool, *, per_recipient: int = 3, per_thread: int = 3) -> Ledger:
    return Ledger(pool, GuardLimits(per_recipient, per_thread, 86400), frozenset({"shop@x.test"}))


def request(
    *, to: str | None = None, thread: str | None = None, kind: str = "reply"
) -> SendRequest:
    tag = f"{PREFIX}{uuid.uuid4().hex}"
    return SendRequest(
        message_key=f"<{tag}@c.test>",
        kind=kind,
        smtp_message_id=f"<{tag}.{kind}@shop.test>",
        recipient=to or f"{tag}@c.test",
        thread_key=thread or f"t-{tag}",
        subject="Re: hola",
    )


async def state_of(pool: asyncpg.Pool, row_id: uuid.UUID) -> tuple[str, int]:
    row = await pool.fetchrow("SELECT state, attempts FROM send_ledger WHERE id = $1", row_id)
    assert row is not None
    return str(row["state"]), int(row["attempts"])


async def test_claim_send_sent_then_duplicate_is_skipped(pool: asyncpg.Pool) -> None:
    led = ledger(pool)
    req = request()
    first = await led.claim(req)
    assert (first.action, first.state, first.attempts) == (ClaimAction.SEND, "sending", 1)
    # 'sending' is committed before the caller talks SMTP: another connection sees it.
    assert await state_of(pool, first.row_id) == ("sending", 1)
    # Redelivered while still 'sending' (a crash in between): the crash rule, not a resend.
    assert (await led.claim(req)).action is ClaimAction.ORPHAN
    assert await led.mark_sent(first.row_id) is True
    assert await led.mark_sent(first.row_id) is False  # only from 'sending'
    again = await led.claim(req)
    assert (again.action, again.row_id, again.state) == (ClaimAction.SKIP, first.row_id, "sent")


async def test_retry_goes_back_to_pending_and_is_claimed_again(pool: asyncpg.Pool) -> None:
    led = ledger(pool)
    req = request()
    first = await led.claim(req)
    assert await led.mark_retry(first.row_id, "451 try later") is True
    assert await state_of(pool, first.row_id) == ("pending", 1)
    second = await led.claim(req)
    assert (second.action, second.row_id, second.attempts) == (ClaimAction.SEND, first.row_id, 2)
    assert await led.mark_failed(second.row_id, "550 no such user") is True
    skipped = await led.claim(req)
    assert (skipped.action, skipped.state, skipped.reason) == (
        ClaimAction.SKIP,
        "failed",
        "550 no such user",
    )


async def test_suppressed_and_own_addresses_are_guarded_for_every_kind(pool: asyncpg.Pool) -> None:
    led = ledger(pool)
    bounced = f"{PREFIX}{uuid.uuid4().hex}@c.test"
    assert await led.suppress(bounced.upper(), "hard bounce") is True
    assert await led.suppress(bounced, "again") is False
    for req in (request(to=bounced, kind="transactional"), request(to="Shop@X.test")):
        claim = await led.claim(req)
        assert claim.action is ClaimAction.GUARDED
        assert await state_of(pool, claim.row_id) == ("suppressed", 0)
        assert (await led.claim(req)).action is ClaimAction.SKIP


async def test_recipient_cap_is_exact_under_concurrent_claims(pool: asyncpg.Pool) -> None:
    """Many workers claim replies to one address at once (different threads): the advisory
    lock must let exactly ``per_recipient`` of them through."""
    led = ledger(pool, per_recipient=3, per_thread=100)
    to = f"flood-{uuid.uuid4().hex}@c.test"
    for _round in range(3):  # different interleavings; the total stays at the cap
        claims = await asyncio.gather(*(led.claim(request(to=to)) for _ in range(WORKERS * 2)))
        assert all(c.action in (ClaimAction.SEND, ClaimAction.GUARDED) for c in claims)
    count = await pool.fetchval(
        "SELECT count(*) FROM send_ledger WHERE recipient = $1 AND state = 'sending'", to
    )
    assert count == 3
    reasons = await pool.fetch(
        "SELECT last_error FROM send_ledger WHERE recipient = $1 AND state = 'suppressed'", to
    )
    assert len(reasons) == 3 * WORKERS * 2 - 3
    assert all("recipient cap" in r["last_error"] for r in reasons)


async def test_thread_cap_is_exact_under_concurrent_claims(pool: asyncpg.Pool) -> None:
    """Replies in one thread to different addresses (different recipient locks), claimed
    at once: the thread lock lets exactly ``per_thread`` through. Transactional mail in
    the thread does not count and is not capped."""
    led = ledger(pool, per_recipient=100, per_thread=2)
    thread = f"t-{uuid.uuid4().hex}"
    claims = await asyncio.gather(
        *(led.claim(request(thread=thread)) for _ in range(WORKERS * 2)),
        *(led.claim(request(thread=thread, kind="transactional")) for _ in range(2)),
    )
    replies = Counter(c.action for c in claims[: WORKERS * 2])
    assert replies == Counter({ClaimAction.SEND: 2, ClaimAction.GUARDED: WORKERS * 2 - 2})
    assert [c.action for c in claims[WORKERS * 2 :]] == [ClaimAction.SEND] * 2


async def test_concurrent_mark_sent_is_batched_and_exact(pool: asyncpg.Pool) -> None:
    led = ledger(pool)
    claims = await asyncio.gather(*(led.claim(request()) for _ in range(20)))
    results = await asyncio.gather(*(led.mark_sent(c.row_id) for c in claims))
    assert results == [True] * 20
    states = await pool.fetch(
        "SELECT state, sent_at IS NOT NULL AS stamped FROM send_ledger WHERE id = ANY($1)",
        [c.row_id for c in claims],
    )
    assert {(r["state"], r["stamped"]) for r in states} == {("sent", True)}
    # A row another path already moved (e.g. to uncertain) is not overwritten.
    other = await led.claim(request())
    assert await led.mark_uncertain(other.row_id, "lost in DATA") is True
    assert await led.mark_sent(other.row_id) is False
    assert await state_of(pool, other.row_id) == ("uncertain", 1)


async def test_stale_sending_rows_are_listed(pool: asyncpg.Pool) -> None:
    led = ledger(pool)
    claim = await led.claim(request())
    await pool.execute(
        "UPDATE send_ledger SET updated_at = now() - interval '1 hour' WHERE id = $1",
        claim.row_id,
    )
    stale = await led.stale_sending(600)
    assert claim.row_id in {r.row_id for r in stale}
