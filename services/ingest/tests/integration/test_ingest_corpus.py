"""The corpus of bad and odd mails through one running ingest process, each its own case.

One process serves the whole module (starting one per case would cost seconds each);
every case appends its mail, finds its event by UID, and checks the service still runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def test_corpus_mail_is_published_or_rejected_and_service_keeps_running(
    corpus_mail: Any, corpus_service: tuple[Any, Any, Any]
) -> None:
    folder, proc, reader = corpus_service
    uid = folder.append(corpus_mail.raw)
    await reader.wait_for(lambda _r: any(e.uid == uid for e in reader.events()), timeout=20)
    [event] = [e for e in reader.events() if e.uid == uid]
    assert event.disposition is corpus_mail.disposition, event.screen_reason
    assert corpus_mail.check(event)
    assert proc.alive(), proc.output()
    ready = await asyncio.to_thread(proc.readyz)
    assert ready is not None
    assert ready["ready"]
