"""The customer hears from us when the provider keeps us waiting (issue #13, item 6).

The offline LLM answers 503 from the start, for longer than the holding delay
(``RESPONDER_HOLDING_AFTER_S`` = 4 s here): every waiting customer gets exactly one holding
reply while the outage lasts (nothing more while it goes on), then exactly one answer
once the LLM is back; both are on the task (history and send ledger), the task ends
``sent`` with no dead letter.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from harness import MakeSystem, bare_id, customer_mail, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

HOLDING_AFTER_S = 4.0
QUESTIONS = (
    "¿De qué tela es el jean mom? ¿Cómo calza?",
    "Hola, ¿la remera básica es de algodón? ¿Encoge al lavarla?",
    "Buenas, ¿el jean mom es de tela rígida o elastizada?",
)


@pytest.mark.timeout(300)
async def test_one_holding_reply_while_the_llm_is_down_then_one_answer(
    make_system: MakeSystem,
) -> None:
    e = await make_system(
        env={
            "responder": {
                "RESPONDER_HOLDING_AFTER_S": str(HOLDING_AFTER_S),
                # The outage must not dead-letter anyone: only breaker probes use attempts.
                "RESPONDER_MAX_ATTEMPTS": "50",
            }
        }
    )
    await e.llm.configure(fail_status=503)  # every call fails until further notice
    names = [f"wait{n}" for n in range(len(QUESTIONS))]
    addresses = {name: e.address(name) for name in names}
    mails = [
        customer_mail(
            message_id=e.message_id(name),
            from_addr=f"Cliente <{addresses[name]}>",
            subject="Consulta",
            body=body,
        )
        for name, body in zip(names, QUESTIONS, strict=True)
    ]
    keys = [bare_id(e.message_id(name)) for name in names]
    await e.drop(mails)
    dropped = time.monotonic()

    async def everyone_held() -> list[dict[str, Any]] | None:
        rows = await e.db.ledger(keys)
        held = [r for r in rows if r["kind"] == "holding" and r["state"] == "sent"]
        return rows if len(held) == len(keys) else None

    during = await wait_until(everyone_held, 90, "a holding reply to every customer", 0.3)
    held_after = time.monotonic() - dropped
    assert held_after >= HOLDING_AFTER_S  # not before the delay
    assert {r["kind"] for r in during} == {"holding"}, during  # no answer during the outage
    # The outage goes on for longer than the delay again: still one holding reply each.
    await asyncio.sleep(HOLDING_AFTER_S + 2)
    assert [r["kind"] for r in await e.db.ledger(keys)] == ["holding"] * len(keys)
    tasks = await e.db.tasks(keys)
    assert {t["status"] for t in tasks.values()} <= {"processing", "retrying"}, tasks
    failures = int((await e.llm.stats())["by_status"].get("503", 0))
    assert failures >= 3, "the outage was really felt"

    await e.llm.configure(fail_status=None, fail_count=None)
    recovered_at = datetime.now().astimezone()
    rows = await e.db.wait_final(keys, 120)

    # ---- the task: answered, nothing dead-lettered, both recorded
    assert Counter(r["status"] for r in rows.values()) == {"sent": len(keys)}, rows
    assert not await e.db.dead_letters(keys)
    ledger = await e.db.ledger(keys)
    per_key = {k: sorted(r["kind"] for r in ledger if r["message_key"] == k) for k in keys}
    assert all(kinds == ["holding", "reply"] for kinds in per_key.values()), per_key
    assert {r["state"] for r in ledger} == {"sent"}
    for key in keys:
        changes = await e.db.status_changes(key)
        holding_rows = [c for c in changes if (c["reason"] or "").startswith("holding sent")]
        assert len(holding_rows) == 1, changes
        assert holding_rows[0]["status"] == "processing"  # the task went on waiting
        assert holding_rows[0]["service"] == "sender"
        assert "dead_letter" not in [c["status"] for c in changes]

    # ---- the customers: exactly one holding reply, then exactly one answer, each
    by_id = {bare_id(r["smtp_message_id"]): r for r in ledger}
    for name, key in zip(names, keys, strict=True):
        got = [m for m in e.sink.entries() if addresses[name] in m["envelope_to"]]
        kinds = [by_id[bare_id(m["message_id"])]["kind"] for m in got]
        assert kinds == ["holding", "reply"], kinds
        holding, answer = got
        assert datetime.fromisoformat(holding["time"]) < recovered_at
        assert datetime.fromisoformat(answer["time"]) > recovered_at
        for message in got:
            assert bare_id(message["in_reply_to"]) == key  # both threaded on the mail
        text = e.sink.raw(holding).decode("utf-8", "replace")
        assert "demorando" in text  # the holding_wait template, in Spanish
        assert "persona" not in text  # no person was promised: the answer followed
    print(
        f"\nholding: {len(keys)} customers held after {held_after:.1f}s "
        f"(delay {HOLDING_AFTER_S:g}s), {failures}+ calls got 503; after recovery each got "
        f"one answer: 2 messages per customer, 0 dead letters"
    )
