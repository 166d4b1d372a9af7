"""The official groq client against the running offline LLM (127.0.0.1:28080)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import groq
import httpx
import pytest

from .conftest import require_port

pytestmark = pytest.mark.integration

LLM_URL = "http://127.0.0.1:28080"
DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$")
RATELIMIT_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)
CATALOGUE = "Catalogue:\n- Taza azul cerámica — 12,50 €\n- Red mug — 9.99 EUR"


@pytest.fixture
async def admin() -> AsyncIterator[httpx.AsyncClient]:
    """Admin client; the server's behaviour and stats are reset before and after each test."""
    require_port(28080, "offline LLM")
    async with httpx.AsyncClient(base_url=LLM_URL, timeout=10) as client:
        (await client.post("/_admin/reset")).raise_for_status()
        try:
            yield client
        finally:
            await client.post("/_admin/reset")


@pytest.fixture
def llm() -> groq.AsyncGroq:
    return groq.AsyncGroq(api_key="test", base_url=LLM_URL, max_retries=0)


def _messages(user: str) -> list[groq.types.chat.ChatCompletionMessageParam]:
    return [
        {"role": "system", "content": f"You answer shop customers.\n{CATALOGUE}"},
        {"role": "user", "content": user},
    ]


async def test_reply_with_usage_and_headers(admin: httpx.AsyncClient, llm: groq.AsyncGroq) -> None:
    raw = await llm.chat.completions.with_raw_response.create(
        model="llama-3.1-8b-instant",
        messages=_messages("Hola, ¿cuánto cuesta la taza azul?"),
        max_tokens=200,
    )
    for name in RATELIMIT_HEADERS:
        assert name in raw.headers
    assert DURATION.match(raw.headers["x-ratelimit-reset-requests"])
    completion = await raw.parse()
    assert completion.object == "chat.completion"
    assert completion.model == "llama-3.1-8b-instant"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    assert choice.message.content is not None
    assert choice.message.content.startswith("Hola")
    assert "Taza azul cerámica — 12,50 €" in choice.message.content
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    english = await llm.chat.completions.create(
        model="llama-3.1-8b-instant",
        messages=[{"role": "user", "content": "Hello, where is my order?"}],
        max_tokens=4,
    )
    assert english.choices[0].message.content == "Hello, thank you for"
    assert english.choices[0].finish_reason == "length"
    stats = (await admin.get("/_admin/stats")).json()
    assert stats["accepted_total"] == 2
    assert stats["by_status"] == {"200": 2}


async def test_rpm_limit_gives_rate_limit_error(
    admin: httpx.AsyncClient, llm: groq.AsyncGroq
) -> None:
    (await admin.post("/_admin/config", json={"rpm": 2})).raise_for_status()
    for _ in range(2):
        await llm.chat.completions.create(model="m", messages=_messages("Hello"))
    with pytest.raises(groq.RateLimitError) as info:
        await llm.chat.completions.create(model="m", messages=_messages("Hello"))
    response = info.value.response
    assert response.status_code == 429
    for name in RATELIMIT_HEADERS:
        assert name in response.headers
    assert response.headers["x-ratelimit-limit-requests"] == "2"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert DURATION.match(response.headers["x-ratelimit-reset-requests"])
    assert 1 <= int(response.headers["retry-after"]) <= 60
    error = response.json()["error"]
    assert error["type"] == "requests"
    assert error["code"] == "rate_limit_exceeded"
    stats = (await admin.get("/_admin/stats")).json()
    assert stats["requests_total"] == 3
    assert stats["accepted_total"] == 2
    assert stats["by_status"] == {"200": 2, "429": 1}


async def test_tpm_limit(admin: httpx.AsyncClient, llm: groq.AsyncGroq) -> None:
    first = await llm.chat.completions.create(model="m", messages=_messages("Hello"))
    assert first.usage is not None
    per_request = first.usage.total_tokens
    await admin.post("/_admin/reset")
    (await admin.post("/_admin/config", json={"tpm": per_request * 2})).raise_for_status()
    for _ in range(2):
        await llm.chat.completions.create(model="m", messages=_messages("Hello"))
    with pytest.raises(groq.RateLimitError) as info:
        await llm.chat.completions.create(model="m", messages=_messages("Hello"))
    assert info.value.response.json()["error"]["type"] == "tokens"
    assert info.value.response.headers["x-ratelimit-remaining-tokens"] == "0"
    assert "retry-after" in info.value.response.headers


async def test_5xx_window(admin: httpx.AsyncClient, llm: groq.AsyncGroq) -> None:
    (await admin.post("/_admin/config", json={"fail_status": 503})).raise_for_status()
    for _ in range(2):
        with pytest.raises(groq.InternalServerError) as info:
            await llm.chat.completions.create(model="m", messages=_messages("Hello"))
        assert info.value.status_code == 503
        assert info.value.response.json()["error"]["type"] == "service_unavailable"
    # only the next request fails
    await admin.post("/_admin/config", json={"fail_status": 500, "fail_count": 1})
    with pytest.raises(groq.APIStatusError) as err:
        await llm.chat.completions.create(model="m", messages=_messages("Hello"))
    assert err.value.status_code == 500
    ok = await llm.chat.completions.create(model="m", messages=_messages("Hello"))
    assert ok.choices[0].message.content
    config = (await admin.get("/_admin/config")).json()
    assert config["fail_status"] is None
    stats = (await admin.get("/_admin/stats")).json()
    assert stats["by_status"] == {"200": 1, "500": 1, "503": 2}


async def test_latency_and_permanent_status(admin: httpx.AsyncClient, llm: groq.AsyncGroq) -> None:
    await admin.post("/_admin/config", json={"latency_ms": 300})
    started = time.monotonic()
    await llm.chat.completions.create(model="m", messages=_messages("Hello"))
    assert time.monotonic() - started >= 0.3
    await admin.post("/_admin/config", json={"latency_ms": 0, "permanent_status": 400})
    with pytest.raises(groq.BadRequestError):
        await llm.chat.completions.create(model="m", messages=_messages("Hello"))
    bad = await admin.post("/_admin/config", json={"rpm": "lots"})
    assert bad.status_code == 400


async def test_models_and_health(admin: httpx.AsyncClient, llm: groq.AsyncGroq) -> None:
    models = await llm.models.list()
    assert any(m.id == "llama-3.1-8b-instant" for m in models.data)
    assert (await admin.get("/healthz")).json() == {"status": "ok"}
