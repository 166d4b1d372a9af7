"""Schemathesis against the app's own OpenAPI: no 5xx, and every response matches it.

Runs on a database of its own so that fuzzed bulk reprocessing cannot touch other tests'
rows. Schemathesis drives the app through its own ASGI client (in a thread with its own
event loop, where it also runs the app's lifespan), hence a plain synchronous test.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
import schemathesis.python.asgi
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import create_async_engine

from mailroom_common.db.models import ThreadOwner

pytestmark = pytest.mark.integration

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Invalid input must be refused with a documented 4xx problem, never a 5xx.
REJECTION = [not_a_server_error, negative_data_rejection, content_type_conformance]


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    checks = CONFORMANCE if mode is GenerationMode.POSITIVE else REJECTION

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    run()


EXAMPLE_TASK_ID = uuid.UUID("3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11")  # the OpenAPI example
EXAMPLE_THREAD = "<CAF1234@mail.example.com>"  # the OpenAPI example of a thread


async def _seed(url: str, tools: Any) -> None:
    """Rows for every listing, and the example task, so responses are not all empty."""
    engine = create_async_engine(url)
    seeder = tools.seeder_cls(engine)
    now = datetime.now(UTC)
    try:
        await seeder.add(
            seeder.task(
                1,
                id=EXAMPLE_TASK_ID,
                created_at=now - timedelta(hours=1),
                status="dead_letter",
                route="llm",
                model="m",
                prompt_tokens=10,
                completion_tokens=5,
                first_replied_at=now,
                trace_id=uuid.uuid4().hex,
                decision={
                    "route": "llm",
                    "intent": "general",
                    "reason": "llm: no FAQ entry or product matched",
                    "confidence": 0.35,
                    "language": "es",
                    "product_skus": [],
                    "evidence": [],
                    "decided_by": "router",
                },
                decision_reason="llm: no FAQ entry or product matched",
                confidence=0.35,
                decision_at=now - timedelta(minutes=59),
            ),
            seeder.task(2, created_at=now - timedelta(hours=2), status="sent", route="faq"),
            seeder.change(1, "received", now - timedelta(hours=1)),
            seeder.change(1, "dead_letter", now, reason="llm failed"),
            seeder.dead_letter(1, created_at=now),
            seeder.ledger(2),
            seeder.alert(1, at=now),
            seeder.task(3, created_at=now - timedelta(hours=3), status="handoff", route="handoff"),
            # Owned threads: the OpenAPI example's (an explicit release may answer 200) and
            # one more, so the listing is not empty after it.
            *(
                ThreadOwner(
                    thread_id=thread,
                    thread=thread,
                    reason="handed off to a person",
                    message_key=seeder.key(3),
                    owned_since=now - timedelta(hours=3),
                    last_activity_at=now - timedelta(hours=1),
                )
                for thread in (EXAMPLE_THREAD, seeder.key("thread"))
            ),
        )
    finally:
        await engine.dispose()


def test_api_conforms_to_its_schema(own_database_url: str, kafka_topics: Any, tools: Any) -> None:
    from mailroom_admin_api.app import create_app

    asyncio.run(_seed(own_database_url, tools))
    app = create_app(tools.make_settings(own_database_url, kafka_topics))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert "POST /v1/tasks/{task_id}/reprocess" in labels
    assert "GET /v1/handoffs" in labels
    assert "PUT /v1/tasks/{task_id}/correction" in labels
    assert "POST /v1/drafts/{message_key}/approve" in labels
    assert "GET /v1/threads/owned" in labels
    assert "POST /v1/threads/{thread}/release" in labels
    assert "POST /v1/tasks/{task_id}/resolve" in labels
    assert len(operations) == 21, labels
    failures: list[str] = []
    try:
        for operation in operations:
            raw = operation.definition.raw
            # Without parameters or a body there is no invalid input to generate.
            has_input = bool(raw.get("parameters")) or "requestBody" in raw
            modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if has_input else [])
            for mode in modes:
                try:
                    _fuzz(operation, mode, tools.auth)
                except Exception as exc:  # collect every operation's failure, then report
                    failures.append(f"{operation.label} [{mode.value}]: {exc}")
    finally:
        schemathesis.python.asgi.shutdown_lifespans()
    assert not failures, "\n\n".join(failures)
