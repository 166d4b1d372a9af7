"""LLM stand-in: pure helpers and the app in-process (no stack needed)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import groq
import pytest
from aiohttp.test_utils import TestServer

from mailroom_devstack.llm_server import (
    ClassifierRule,
    LlmConfig,
    SlidingWindow,
    compose_reply,
    detect_language,
    error_body,
    estimate_tokens,
    find_catalogue_line,
    format_duration,
    is_classification,
    make_app,
    no_opinion,
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


# ------------------------------------------------------------------ classification table

CLASSIFY_SYSTEM = "Route this email; answer with JSON matching mailroom_classification: {...}"


def _classify_messages(text: str) -> list[groq.types.chat.ChatCompletionMessageParam]:
    return [
        {"role": "system", "content": CLASSIFY_SYSTEM},
        {"role": "user", "content": f"<<<EMAIL\n{text}\nEMAIL>>>"},
    ]


def test_classification_requests_are_recognised() -> None:
    messages = [{"role": "system", "content": CLASSIFY_SYSTEM}, {"role": "user", "content": "x"}]
    assert is_classification({"messages": messages, "response_format": {"type": "json_object"}})
    named = {
        "type": "json_schema",
        "json_schema": {"name": "mailroom_classification", "schema": {}},
    }
    plain = [{"role": "user", "content": "x"}]
    assert is_classification({"messages": plain, "response_format": named})
    assert not is_classification({"messages": messages})  # not JSON mode
    assert not is_classification({"messages": plain, "response_format": {"type": "json_object"}})
    assert no_opinion("Hola, ¿hacen envíos?")["route"] == "unsure"
    assert no_opinion("Hola, ¿hacen envíos?")["language"] == "es"


def test_classifier_rules_validate() -> None:
    rule = ClassifierRule.parse({"contains": "Marte", "answer": {"route": "llm"}})
    assert rule.matches("¿envían a marte?", "any-model")
    assert not rule.matches("¿envían a Júpiter?", "any-model")
    only = ClassifierRule.parse({"model": "small", "status": 503})
    assert only.matches("anything", "small")
    assert not only.matches("anything", "big")
    for bad in (
        {"contains": 3, "answer": {}},
        {"status": 200},
        {"contains": "x"},
        {"answer": {}, "latency_ms": -1},
        {"answer": {}, "colour": "red"},
        "not a rule",
    ):
        with pytest.raises(ValueError, match=r"."):
            ClassifierRule.parse(bad)


async def test_in_process_classification_table(local_llm: str) -> None:
    client = groq.AsyncGroq(api_key="unit", base_url=local_llm, max_retries=0)
    admin = groq.AsyncGroq(api_key="unit", base_url=local_llm, max_retries=0)

    async def classify(text: str, model: str = "llama-3.1-8b-instant") -> str:
        done = await client.chat.completions.create(
            model=model,
            messages=_classify_messages(text),
            response_format={"type": "json_object"},
        )
        return done.choices[0].message.content or ""

    # Nothing scripted: no opinion, in the email's language.
    assert json.loads(await classify("Hello, a question")) == {
        "route": "unsure",
        "faq_topic": None,
        "products": [],
        "language": "en",
        "handoff_reason": None,
        "confidence": 0.0,
    }
    shipping = {"route": "faq", "faq_topic": "shipping", "confidence": 0.9}
    table = await admin.post(
        "/_admin/classifier",
        cast_to=object,
        body={
            "rules": [
                {"contains": "marte", "answer": shipping},
                {"contains": "roto", "answer": "{not json"},
                {"contains": "caído", "model": "llama-3.1-8b-instant", "status": 503},
            ],
            "default": {"route": "llm", "confidence": 0.2},
        },
    )
    assert isinstance(table, dict)
    assert len(table["rules"]) == 3
    assert json.loads(await classify("¿Envían a MARTE?")) == shipping
    assert await classify("llegó roto") == "{not json"
    with pytest.raises(groq.InternalServerError):
        await classify("el servicio está caído")
    assert json.loads(await classify("el servicio está caído", model="other")) == {
        "route": "llm",
        "confidence": 0.2,
    }
    # The global fault scripting applies to classification requests as well.
    await admin.post("/_admin/config", cast_to=object, body={"fail_status": 502, "fail_count": 1})
    with pytest.raises(groq.InternalServerError):
        await classify("¿Envían a Marte?")
    # Ordinary requests are untouched by the table.
    plain = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "¿Envían a Marte?"}]
    )
    assert (plain.choices[0].message.content or "").startswith("Hola")
    stats = await admin.get("/_admin/stats", cast_to=object)
    assert isinstance(stats, dict)
    assert stats["classifications"] == 6
    assert stats["by_status"] == {"200": 5, "502": 1, "503": 1}
    await admin.post("/_admin/reset", cast_to=object)
    assert await admin.get("/_admin/classifier", cast_to=object) == {"rules": [], "default": None}
