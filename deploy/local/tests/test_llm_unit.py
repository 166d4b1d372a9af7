"""LLM stand-in: pure helpers and the app in-process (no stack needed)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import groq
import pytest
from aiohttp.test_utils import TestServer

from mailroom_devstack.llm_server import (
    LlmConfig,
    SlidingWindow,
    compose_reply,
    detect_language,
    error_body,
    estimate_tokens,
    find_catalogue_line,
    format_duration,
    make_app,
    rate_limit_state,
    ratelimit_headers,
)

GROQ_DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-1, "0s"),
        (0.24, "240ms"),
        (0.9999, "1s"),
        (1, "1s"),
        (7.66, "7.66s"),
        (7.5, "7.5s"),
        (59.999, "1m0s"),
        (60, "1m0s"),
        (179.56, "2m59.56s"),
        (3723, "1h2m3s"),
    ],
)
def test_format_duration_matches_groq(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert GROQ_DURATION.match(text)


def test_sliding_window_requests_and_tokens() -> None:
    w = SlidingWindow(span=60)
    w.add(0.0, 10)
    w.add(10.0, 20)
    w.add(20.0, 30)
    assert w.requests(30.0) == 3
    assert w.tokens(30.0) == 60
    # two slots in use with limit 3 -> none free: wait until t=60 (first entry leaves)
    assert w.seconds_until_request_slot(30.0, 3) == pytest.approx(30.0)
    assert w.seconds_until_request_slot(30.0, 4) == 0.0
    # 60 used, limit 100: 50 more fit once the first (10) leaves at t=60,
    # 60 more only once the second (20) leaves too, at t=70
    assert w.seconds_until_tokens(30.0, 100, 50) == pytest.approx(30.0)
    assert w.seconds_until_tokens(30.0, 100, 60) == pytest.approx(40.0)
    assert w.seconds_until_tokens(30.0, 100, 40) == 0.0
    # entries leave the window exactly 60 s after they were added
    assert w.requests(60.0) == 2
    assert w.tokens(80.0) == 0


def test_rate_limit_headers() -> None:
    w = SlidingWindow()
    w.add(100.0, 40)
    state = rate_limit_state(w, 110.0, rpm=5, tpm=1000)
    headers = ratelimit_headers(state)
    assert headers == {
        "x-ratelimit-limit-requests": "5",
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-requests": "4",
        "x-ratelimit-remaining-tokens": "960",
        "x-ratelimit-reset-requests": "50s",
        "x-ratelimit-reset-tokens": "50s",
    }
    unlimited = ratelimit_headers(rate_limit_state(SlidingWindow(), 0.0, None, None))
    assert int(unlimited["x-ratelimit-remaining-requests"]) > 10_000
    assert unlimited["x-ratelimit-reset-tokens"] == "0s"


def test_language_and_catalogue() -> None:
    assert detect_language("Hola, ¿cuánto cuesta la taza azul?") == "es"
    assert detect_language("Hello, how much is the blue mug?") == "en"
    assert detect_language("") == "en"
    messages = [
        {
            "role": "system",
            "content": "You are the shop.\nCatalogue:\n- Taza azul: 12,50 €\n- Mug 3 EUR",
        },
        {"role": "user", "content": "Hola, ¿tienen la taza azul?"},
    ]
    assert find_catalogue_line(messages) == "Taza azul: 12,50 €"
    reply = compose_reply(messages, max_tokens=None)
    assert reply.language == "es"
    assert "Taza azul: 12,50 €" in reply.text
    assert reply.finish_reason == "stop"
    assert reply.completion_tokens == len(reply.text.split())
    no_catalogue = compose_reply([{"role": "user", "content": "Hi, where is my order?"}], None)
    assert no_catalogue.language == "en"
    assert "€" not in no_catalogue.text
    assert "$" not in no_catalogue.text


def test_max_tokens_cuts_reply() -> None:
    reply = compose_reply([{"role": "user", "content": "Hello"}], max_tokens=3)
    assert reply.text == "Hello, thank you"
    assert reply.finish_reason == "length"
    assert reply.completion_tokens == 3


def test_estimate_tokens_and_errors() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert error_body(503) == {
        "error": {"message": "Service Unavailable", "type": "service_unavailable"}
    }
    assert (
        error_body(429, "x", "tokens", "rate_limit_exceeded")["error"]["code"]
        == "rate_limit_exceeded"
    )


def test_config_validation() -> None:
    cfg = LlmConfig().updated({"rpm": 3, "latency_ms": 5})
    assert (cfg.rpm, cfg.latency_ms) == (3, 5)
    assert LlmConfig().updated({"fail_count": 2}).fail_status == 500
    for bad in ({"nope": 1}, {"rpm": "3"}, {"rpm": -1}, {"fail_status": 200}, {"latency_ms": None}):
        with pytest.raises(ValueError):  # noqa: PT011
            LlmConfig().updated(bad)


@pytest.fixture
async def local_llm() -> AsyncIterator[str]:
    server = TestServer(make_app(LlmConfig()), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_in_process_rate_limit_and_failures(local_llm: str) -> None:
    client = groq.AsyncGroq(api_key="unit", base_url=local_llm, max_retries=0)
    admin = groq.AsyncGroq(api_key="unit", base_url=local_llm, max_retries=0)
    await admin.post("/_admin/config", cast_to=object, body={"rpm": 1})
    messages: list[groq.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "Hello"}
    ]
    ok = await client.chat.completions.create(model="m", messages=messages)
    assert ok.usage is not None
    assert ok.usage.total_tokens == ok.usage.prompt_tokens + ok.usage.completion_tokens
    with pytest.raises(groq.RateLimitError) as info:
        await client.chat.completions.create(model="m", messages=messages)
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 60
    await admin.post(
        "/_admin/config", cast_to=object, body={"rpm": None, "fail_status": 503, "fail_count": 1}
    )
    with pytest.raises(groq.InternalServerError):
        await client.chat.completions.create(model="m", messages=messages)
    await client.chat.completions.create(model="m", messages=messages)
    with pytest.raises(groq.AuthenticationError):
        await client.with_options(default_headers={"Authorization": ""}).chat.completions.create(
            model="m", messages=messages
        )
