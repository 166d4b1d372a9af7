"""GET /v1/providers from the compacted topic; POST /v1/transactional to Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailroom_common.events import ProviderStateEvent, TransactionalRequest
from mailroom_common.kafka import make_producer, send_event
from mailroom_common.topics import PROVIDER_STATE, TRANSACTIONAL

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 27, 10, tzinfo=UTC)


def _state(provider: str, state: str, at: datetime, **fields: Any) -> ProviderStateEvent:
    values: dict[str, Any] = {
        "consecutive_failures": 0,
        "requests_in_window": 3,
        "tokens_in_window": 900,
        "request_limit": 30,
    }
    values.update(fields)
    return ProviderStateEvent(provider=provider, breaker_state=state, occurred_at=at, **values)  # type: ignore[arg-type]


async def test_providers_show_the_latest_snapshot(
    database_url: str, kafka_topics: Any, tools: Any
) -> None:
    topic = kafka_topics.topic(PROVIDER_STATE)
    producer = make_producer(kafka_topics, "test-responder")
    await producer.start()
    try:
        # Published before the app starts: the reader must find them from the beginning.
        await send_event(producer, topic, _state("groq", "closed", T0), key="groq")
        await send_event(
            producer,
            topic,
            _state(
                "groq",
                "open",
                T0 + timedelta(seconds=1),
                consecutive_failures=5,
                open_until=T0 + timedelta(seconds=31),
                next_free_at=T0 + timedelta(seconds=2),
            ),
            key="groq",
        )
        await send_event(producer, topic, _state("backup", "closed", T0), key="backup")

        settings = tools.make_settings(database_url, kafka_topics)
        async with tools.running_app(settings) as api:

            async def caught_up() -> Any:
                body = (await api.client.get("/v1/providers")).json()
                return body if body["caught_up"] else None

            body = await tools.wait_for(caught_up)
            providers = {p["provider"]: p for p in body["providers"]}
            assert sorted(providers) == ["backup", "groq"]
            groq = providers["groq"]
            assert groq["breaker_state"] == "open"
            assert groq["consecutive_failures"] == 5
            assert groq["open_until"].startswith("2026-11-27T10:00:31")
            assert groq["requests_in_window"] == 3
            assert groq["tokens_in_window"] == 900
            assert groq["next_free_at"].startswith("2026-11-27T10:00:02")

            # A later snapshot shows up while the app runs.
            await send_event(
                producer, topic, _state("groq", "half_open", T0 + timedelta(seconds=40)), key="groq"
            )

            async def half_open() -> bool:
                body = (await api.client.get("/v1/providers")).json()
                states = {p["provider"]: p["breaker_state"] for p in body["providers"]}
                return states.get("groq") == "half_open"

            await tools.wait_for(half_open)
    finally:
        await producer.stop()


async def test_transactional_is_published_with_its_id(
    api: Any, kafka_topics: Any, tools: Any
) -> None:
    payload = {
        "template": "order_confirmation",
        "to": "ana@example.com",
        "locale": "es",
        "data": {"order_id": "A-1001", "items": [{"sku": "X", "qty": 1}]},
        "request_id": "order-A-1001",
    }
    response = await api.client.post("/v1/transactional", json=payload)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["id"] == "order-A-1001"

    records = await tools.read_topic(
        kafka_topics, kafka_topics.topic(TRANSACTIONAL), expect=1, settle_s=0.5
    )
    assert len(records) == 1
    key, event = records[0]
    assert key == "order-A-1001"
    assert isinstance(event, TransactionalRequest)
    assert str(event.event_id) == body["event_id"]
    assert (event.template, event.to, event.data) == (
        "order_confirmation",
        "ana@example.com",
        payload["data"],
    )

    generated = await api.client.post(
        "/v1/transactional", json={"template": "order_confirmation", "to": "b@example.com"}
    )
    assert generated.status_code == 202
    assert generated.json()["id"].startswith("admin-")


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"template": "welcome", "to": "ana@example.com"}, "/problems/unknown-template"),
        ({"template": "order_confirmation", "to": "not-an-address"}, "/problems/validation"),
        ({"template": "order_confirmation"}, "/problems/validation"),
        (
            {"template": "order_confirmation", "to": "a@example.com", "extra": 1},
            "/problems/validation",
        ),
    ],
)
async def test_invalid_transactional_requests_are_problems(
    api: Any, payload: dict[str, Any], kind: str
) -> None:
    response = await api.client.post("/v1/transactional", json=payload)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == kind
