"""Groq adapter: one chat completion, its headers, and errors sorted by what to do next.

``max_retries=0``: the client must never retry behind our back, or the breaker and the
limiter would not see every request that reaches the provider.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import groq
import httpx

from mailroom_responder.settings import GroqSettings

__all__ = [
    "PERMANENT_STATUSES",
    "ClassifierClient",
    "ErrorKind",
    "GroqChat",
    "GroqClassifier",
    "LlmCallError",
    "LlmClient",
    "LlmResult",
    "classify_status",
]

PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 413, 422})


class ErrorKind(enum.StrEnum):
    RATE_LIMITED = "rate_limited"  # back-pressure: wait, no attempt used
    TRANSIENT = "transient"  # retry later, one attempt used, breaker counts it
    PERMANENT = "permanent"  # dead letter now


def classify_status(status: int) -> ErrorKind:
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in PERMANENT_STATUSES:
        return ErrorKind.PERMANENT
    if status >= 500 or status in (408, 409):
        return ErrorKind.TRANSIENT
    return ErrorKind.PERMANENT


@dataclass(frozen=True, slots=True)
class LlmResult:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    headers: dict[str, str] = field(default_factory=dict)


class LlmCallError(Exception):
    def __init__(
        self,
        kind: ErrorKind,
        error_class: str,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error_class}: {message}")
        self.kind = kind
        self.error_class = error_class
        self.message = message
        self.status = status
        self.headers = headers or {}


class LlmClient(Protocol):
    model: str
    max_tokens: int

    async def complete(self, messages: list[dict[str, str]]) -> LlmResult: ...


class ClassifierClient(Protocol):
    model: str
    max_tokens: int

    async def classify(
        self, messages: list[dict[str, str]], response_format: dict[str, Any], timeout_s: float
    ) -> LlmResult: ...


def _headers(response: httpx.Response | None) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()} if response is not None else {}


class GroqChat:
    """The production client (official ``groq`` SDK)."""

    def __init__(self, settings: GroqSettings) -> None:
        self.model = settings.model_name
        self.max_tokens = settings.max_tokens
        self._client = groq.AsyncGroq(
            api_key=settings.api_key.get_secret_value(),
            base_url=settings.base_url,
            max_retries=0,
            timeout=settings.timeout_s,
        )

    async def close(self) -> None:
        await self._client.close()

    async def complete(self, messages: list[dict[str, str]]) -> LlmResult:
        return await _create(
            self._client,
            model=self.model,
            messages=messages,
            max_tokens=self.max_tokens,
            temperature=0.2,
        )


class GroqClassifier:
    """The classifier's client: its own model, one structured-output call, a short timeout.

    Groq's limits are per model, so its breaker and limiter are its own (see classifier.py).
    """

    def __init__(self, settings: GroqSettings, *, model: str, max_tokens: int) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self._client = groq.AsyncGroq(
            api_key=settings.api_key.get_secret_value(),
            base_url=settings.base_url,
            max_retries=0,
            timeout=settings.timeout_s,
        )

    async def close(self) -> None:
        await self._client.close()

    async def classify(
        self, messages: list[dict[str, str]], response_format: dict[str, Any], timeout_s: float
    ) -> LlmResult:
        return await _create(
            self._client,
            model=self.model,
            messages=messages,
            max_tokens=self.max_tokens,
            temperature=0.0,
            response_format=response_format,
            timeout=timeout_s,
        )


async def _create(
    client: groq.AsyncGroq, *, model: str, messages: list[dict[str, str]], **params: Any
) -> LlmResult:
    """One chat completion; errors sorted into rate-limited / transient / permanent."""
    started = time.perf_counter()
    try:
        raw = await client.chat.completions.with_raw_response.create(
            model=model,
            messages=messages,  # type: ignore[arg-type]
            **params,
        )
    except groq.APIStatusError as exc:
        status = exc.status_code
        raise LlmCallError(
            classify_status(status),
            type(exc).__name__,
            _error_message(exc),
            status=status,
            headers=_headers(exc.response),
        ) from exc
    except groq.APIConnectionError as exc:  # includes APITimeoutError
        raise LlmCallError(ErrorKind.TRANSIENT, type(exc).__name__, str(exc)) from exc
    completion: Any = await raw.parse()
    latency_ms = (time.perf_counter() - started) * 1000
    usage = completion.usage
    text = completion.choices[0].message.content or "" if completion.choices else ""
    return LlmResult(
        text=text,
        model=str(completion.model or model),
        prompt_tokens=int(usage.prompt_tokens) if usage else 0,
        completion_tokens=int(usage.completion_tokens) if usage else 0,
        latency_ms=latency_ms,
        headers={k.lower(): v for k, v in raw.headers.items()},
    )


def _error_message(exc: groq.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
    return str(exc)[:500]
