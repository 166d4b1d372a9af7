"""A worker restarted while mail waits on ``mail.inbound`` processes every email.

faust-streaming seeks the stream partitions while its fetcher is already running; without
:mod:`mailroom_responder.consumer` an email fetched in that window was skipped for good (or
its partition stalled) in about one restart in three. Each round stops the only worker
(SIGTERM or SIGKILL in turn), queues a backlog, starts it again and waits for every email's
``processing`` status.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from .conftest import wait_for

pytestmark = pytest.mark.integration

ROUNDS = int(os.environ.get("MAILROOM_RESTART_ROUNDS", "6"))
BACKLOG = 25
FAQ = ["¿Hacen envíos a Córdoba?", "¿Qué medios de pago aceptan?", "¿Cómo hago un cambio?"]


def never_processed(cluster: Any, mails: list[Any]) -> list[str]:
    return [m.message_key for m in mails if "processing" not in cluster.statuses(m.message_key)]


async def test_restarts_with_a_backlog_lose_no_email(cluster: Any, make_mail: Any) -> None:
    worker = cluster.worker()
    worker.start()
    await worker.wait_ready()
    sent: list[Any] = []

    async def all_processed() -> bool:
        return not never_processed(cluster, sent)

    for round_no in range(ROUNDS):
        if round_no % 2:
            worker.kill()
        else:
            worker.stop()
        backlog = [make_mail(FAQ[i % len(FAQ)]) for i in range(BACKLOG)]
        for mail in backlog:
            await cluster.send(mail)
        sent += backlog
        worker.start()
        try:
            await wait_for(all_processed, 60, f"round {round_no}: every email processed", 0.5)
        except AssertionError:
            if os.environ.get("MAILROOM_RESTART_DUMP") and worker.proc is not None:
                worker.proc.send_signal(signal.SIGUSR1)  # mode's worker logs every task's stack
                await asyncio.sleep(2)
            missing = never_processed(cluster, sent)
            raise AssertionError(
                f"round {round_no}: {len(missing)} of {len(sent)} emails never processed "
                f"({missing[:5]})\n{worker.tail(80)}"
            ) from None
    # Each email is answered; a record processed just before a SIGKILL may be again.
    for mail in sent:
        assert "replied" in cluster.statuses(mail.message_key), mail.message_key
