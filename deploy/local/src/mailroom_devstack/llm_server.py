"""Offline stand-in for the Groq chat-completions API (OpenAI-compatible), for tests.

Speaks the routes the official ``groq`` client calls (``base_url`` + ``/openai/v1/...``):

* ``POST /openai/v1/chat/completions`` (JSON or ``stream: true`` server-sent events)
* ``GET  /openai/v1/models``

Replies are deterministic: a short polite answer in the language of the last user message
(Spanish or English) that quotes the first catalogue line (a line with a price) found in the
system/user messages, cut to ``max_tokens`` words.

Behaviour is set at start (CLI flags or ``MAILROOM_LLM_*`` environment variables) and can be
changed while running through the admin API on the same port:

* ``GET  /_admin/config``   current behaviour
* ``POST /_admin/config``   partial update, e.g. ``{"rpm": 2}`` or
  ``{"fail_status": 503, "fail_count": 1}``
* ``POST /_admin/reset``    back to the start-up behaviour; clears stats and the rate window
* ``GET  /_admin/stats``    what reached the "provider": totals, per status, accepted timestamps
* ``GET  /_admin/classifier``  the scripted classification table
* ``POST /_admin/classifier``  replace its ``rules`` and/or ``default`` (see below)
* ``GET  /healthz``

Rate limits (``rpm``/``tpm``) are enforced over a sliding 60 s window of accepted requests
(one window for all models; Groq keeps one per model, so this is the stricter).

**Classification requests** (the responder's classifier) are those asking for JSON
(``response_format`` ``json_object`` or ``json_schema``) whose schema name or system
message names ``mailroom_classification``. They pass the same latency, fault and rate-limit
scripting as every request, then are answered from a scripted table::

    POST /_admin/classifier
    {"rules": [{"contains": "marte", "answer": {"route": "faq", "faq_topic": "shipping",
                "products": [], "language": "es", "handoff_reason": null,
                "confidence": 0.9}},
               {"contains": "lento", "latency_ms": 8000, "answer": {...}},
               {"model": "llama-3.1-8b-instant", "status": 503}],
     "default": {...}}

The first rule whose ``contains`` (case-insensitive, in the last user message) and
``model`` both match (an absent one matches anything) decides: ``status`` answers with
that HTTP error, ``latency_ms`` waits (on top of the global latency), ``answer`` is the
content (a JSON value is serialised; a string is sent as it is, so invalid JSON can be
scripted too). With no match the ``default`` answers, or else "no opinion": route
``unsure`` with confidence 0 in the email's language. ``/_admin/reset`` clears the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Final

from aiohttp import web

log = logging.getLogger("mailroom_devstack.llm_server")

DEFAULT_MODEL: Final = "llama-3.1-8b-instant"
WINDOW_SECONDS: Final = 60.0
# Limits reported in the x-ratelimit-* headers when no limit is configured.
UNLIMITED_REQUESTS: Final = 1_000_000
UNLIMITED_TOKENS: Final = 100_000_000
RECENT_REQUESTS_KEPT: Final = 200
MODELS: Final = (
    "llama-3.1-8b-instant",
    "llama-3.3-70b-versatile",
    "openai/gpt-oss-20b",
)

# --------------------------------------------------------------------------- pure helpers


def format_duration(seconds: float) -> str:
    """Format a duration the way Groq's x-ratelimit-reset-* headers do (Go style).

    ``0.0 -> "0s"``, ``0.24 -> "240ms"``, ``7.66 -> "7.66s"``, ``179.56 -> "2m59.56s"``,
    ``3723 -> "1h2m3s"``. Seconds are rounded to hundredths.
    """
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        ms = max(1, round(seconds * 1000))
        if ms < 1000:
            return f"{ms}ms"
        seconds = 1.0
    centis = round(seconds * 100)
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6_000)
    secs = rest / 100
    sec_text = f"{secs:.2f}".rstrip("0").rstrip(".")
    out = ""
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return out + f"{sec_text}s"


def estimate_tokens(text: str) -> int:
    """Approximate token count: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4) if text else 0


@dataclass
class SlidingWindow:
    """Accepted requests (timestamp, tokens) over the last ``span`` seconds."""

    span: float = WINDOW_SECONDS
    entries: deque[tuple[float, int]] = field(default_factory=deque)

    def prune(self, now: float) -> None:
        while self.entries and self.entries[0][0] <= now - self.span:
            self.entries.popleft()

    def add(self, now: float, tokens: int) -> None:
        self.prune(now)
        self.entries.append((now, tokens))

    def requests(self, now: float) -> int:
        self.prune(now)
        return len(self.entries)

    def tokens(self, now: float) -> int:
        self.prune(now)
        return sum(t for _, t in self.entries)

    def seconds_until_request_slot(self, now: float, limit: int) -> float:
        """Seconds until fewer than ``limit`` requests are in the window (0 if already)."""
        self.prune(now)
        excess = len(self.entries) - limit
        if excess < 0:
            return 0.0
        # The (excess+1)-th oldest entry must leave the window.
        return max(0.0, self.entries[excess][0] + self.span - now)

    def seconds_until_tokens(self, now: float, limit: int, needed: int) -> float:
        """Seconds until ``needed`` more tokens fit under ``limit`` (0 if they fit now)."""
        self.prune(now)
        used = sum(t for _, t in self.entries)
        if used + needed <= limit:
            return 0.0
        for ts, tok in self.entries:
            used -= tok
            if used + needed <= limit:
                return max(0.0, ts + self.span - now)
        return 0.0

    def seconds_until_oldest_expires(self, now: float) -> float:
        self.prune(now)
        if not self.entries:
            return 0.0
        return max(0.0, self.entries[0][0] + self.span - now)


@dataclass(frozen=True)
class RateLimitState:
    limit_requests: int
    remaining_requests: int
    reset_requests: float
    limit_tokens: int
    remaining_tokens: int
    reset_tokens: float


def rate_limit_state(
    window: SlidingWindow, now: float, rpm: int | None, tpm: int | None
) -> RateLimitState:
    limit_req = rpm if rpm is not None else UNLIMITED_REQUESTS
    limit_tok = tpm if tpm is not None else UNLIMITED_TOKENS
    used_req = window.requests(now)
    used_tok = window.tokens(now)
    reset = window.seconds_until_oldest_expires(now)
    return RateLimitState(
        limit_requests=limit_req,
        remaining_requests=max(0, limit_req - used_req),
        reset_requests=reset,
        limit_tokens=limit_tok,
        remaining_tokens=max(0, limit_tok - used_tok),
        reset_tokens=reset,
    )


def ratelimit_headers(state: RateLimitState) -> dict[str, str]:
    """The six Groq ``x-ratelimit-*`` headers."""
    return {
        "x-ratelimit-limit-requests": str(state.limit_requests),
        "x-ratelimit-limit-tokens": str(state.limit_tokens),
        "x-ratelimit-remaining-requests": str(state.remaining_requests),
        "x-ratelimit-remaining-tokens": str(state.remaining_tokens),
        "x-ratelimit-reset-requests": format_duration(state.reset_requests),
        "x-ratelimit-reset-tokens": format_duration(state.reset_tokens),
    }


_ES_TEXT: Final = (
    "hola gracias por favor quiero quisiera precio precios cuánto cuanto cuesta cuestan "
    "tienen tiene tienes está están envío envio envíos pedido pedidos buenos buenas días dias "
    "tardes noches el la los las del que qué es un una unos unas para con mi mis su sus "
    "saludos producto productos comprar disponible necesito puedo pueden cuándo cuando dónde "
    "donde también estoy estaba hay sería me le nos usted ustedes muchas talla color"
)
_ES_WORDS: Final = frozenset(_ES_TEXT.split())
_EN_TEXT: Final = (
    "the and is are you your hello hi thanks thank please price prices how much what when "
    "where do does have has order orders shipping want would like can could i my of to for "
    "with it this that in dear regards available need buy size colour color there"
)
_EN_WORDS: Final = frozenset(_EN_TEXT.split())
_WORD_RE: Final = re.compile(r"[a-záéíóúñü]+")
_PRICE_RE: Final = re.compile(
    r"(?:[€$£]\s?\d+(?:[.,]\d{1,2})?"
    r"|\d+(?:[.,]\d{1,2})?\s?(?:€|\$|£|eur\b|euros?\b|usd\b|gbp\b))",
    re.IGNORECASE,
)


def detect_language(text: str) -> str:
    """``"es"`` if the text looks Spanish, else ``"en"``."""
    lowered = text.lower()
    words = _WORD_RE.findall(lowered)
    es = sum(1 for w in words if w in _ES_WORDS)
    en = sum(1 for w in words if w in _EN_WORDS)
    es += 2 * sum(1 for ch in lowered if ch in "ñ¿¡")
    return "es" if es > en else "en"


def message_text(message: Mapping[str, Any]) -> str:
    """Text of a chat message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(p.get("text", ""))
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "text"
        ]
        return "\n".join(parts)
    return ""


def find_catalogue_line(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """First line with a price in the system/user messages, cleaned of bullets."""
    for message in messages:
        if message.get("role") not in {"system", "user"}:
            continue
        for line in message_text(message).splitlines():
            if _PRICE_RE.search(line):
                cleaned = line.strip().lstrip("-*•·>#| \t").strip().rstrip(".;,")
                if cleaned:
                    return cleaned
    return None


_EXCERPT_LINE: Final = re.compile(
    r"^(?P<name>[^()]+?) \([^)]*\) SKU \S+: talle \S+ \S+ (?P<price>\$\s?[\d.,]+)"
)


def speak_line(line: str, language: str) -> str:
    """A catalogue line as a shop assistant would say it: mailroom's excerpt lines
    ("Jean mom (Jeans) SKU JEA-MOM: talle 36 azul $39900 stock 6; …") become "el Jean mom
    cuesta $39900" (no SKUs or stock counts, which a reply gate rightly blocks); any
    other line is quoted as it is."""
    m = _EXCERPT_LINE.match(line)
    if m is None:
        return line
    name, price = m.group("name").strip(), m.group("price")
    return f"el {name} cuesta {price}" if language == "es" else f"the {name} is {price}"


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


@dataclass(frozen=True)
class Reply:
    text: str
    language: str
    finish_reason: str
    completion_tokens: int


def compose_reply(messages: Sequence[Mapping[str, Any]], max_tokens: int | None) -> Reply:
    """Deterministic reply; tokens are counted as words for the ``max_tokens`` cut."""
    language = detect_language(last_user_text(messages))
    found = find_catalogue_line(messages)
    line = speak_line(found, language) if found else None
    if language == "es":
        middle = (
            f"Sobre su consulta: {line}."
            if line
            else "Con gusto le ayudamos: cuéntenos un poco más sobre lo que busca."
        )
        text = (
            f"Hola, gracias por su mensaje. {middle} "
            "Quedamos a su disposición para cualquier otra consulta. Un saludo."
        )
    else:
        middle = (
            f"About your question: {line}."
            if line
            else "We are happy to help: tell us a bit more about what you are looking for."
        )
        text = (
            f"Hello, thank you for your message. {middle} "
            "Please let us know if we can help with anything else. Kind regards."
        )
    words = text.split()
    finish = "stop"
    if max_tokens is not None and max_tokens >= 0 and len(words) > max_tokens:
        words = words[:max_tokens]
        finish = "length"
    return Reply(" ".join(words), language, finish, len(words))


def prompt_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    return max(1, sum(estimate_tokens(message_text(m)) for m in messages))


_ERROR_TYPES: Final[Mapping[int, tuple[str, str | None, str]]] = {
    400: ("invalid_request_error", None, "Bad request"),
    401: ("invalid_request_error", "invalid_api_key", "Invalid API Key"),
    403: ("permission_denied", "permission_denied", "Forbidden"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist"),
    413: ("invalid_request_error", "request_too_large", "Request Entity Too Large"),
    422: ("invalid_request_error", None, "Unprocessable Entity"),
    500: ("internal_server_error", None, "Internal Server Error"),
    502: ("bad_gateway", None, "Bad Gateway"),
    503: ("service_unavailable", None, "Service Unavailable"),
    504: ("gateway_timeout", None, "Gateway Timeout"),
}


def error_body(
    status: int, message: str | None = None, type_: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """Groq-style error JSON: ``{"error": {"message", "type", "code"?}}``."""
    d_type, d_code, d_msg = _ERROR_TYPES.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", None, "Error")
    )
    err: dict[str, Any] = {"message": message or d_msg, "type": type_ or d_type}
    if code or d_code:
        err["code"] = code or d_code
    return {"error": err}


# --------------------------------------------------------------------------- classification

CLASSIFICATION_MARKER: Final = "mailroom_classification"


@dataclass(frozen=True)
class ClassifierRule:
    """One row of the scripted classification table."""

    contains: str | None = None
    model: str | None = None
    answer: Any = None
    status: int | None = None
    latency_ms: int = 0
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any) -> ClassifierRule:
        """From admin JSON; ValueError on unknown keys or bad types."""
        if not isinstance(raw, Mapping):
            raise ValueError("a rule must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown rule keys: {sorted(unknown)}")
        for key in ("contains", "model"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise ValueError(f"{key} must be a string or null")
        status = raw.get("status")
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
        ):
            raise ValueError("status must be an HTTP error status (400-599) or null")
        latency = raw.get("latency_ms", 0)
        if isinstance(latency, bool) or not isinstance(latency, int) or latency < 0:
            raise ValueError("latency_ms must be an integer >= 0")
        headers = raw.get("headers") or {}
        if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise ValueError("headers must map strings to strings")
        if status is None and "answer" not in raw:
            raise ValueError("a rule needs an answer or a status")
        return cls(
            contains=raw.get("contains"),
            model=raw.get("model"),
            answer=raw.get("answer"),
            status=status,
            latency_ms=latency,
            headers=dict(headers),
        )

    def matches(self, text: str, model: str) -> bool:
        if self.model is not None and self.model != model:
            return False
        return self.contains is None or self.contains.lower() in text.lower()

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "headers": dict(self.headers)}


def is_classification(body: Mapping[str, Any]) -> bool:
    """A JSON-mode request naming the responder's classification schema."""
    fmt = body.get("response_format")
    if not isinstance(fmt, Mapping) or fmt.get("type") not in {"json_object", "json_schema"}:
        return False
    schema = fmt.get("json_schema")
    if isinstance(schema, Mapping) and schema.get("name") == CLASSIFICATION_MARKER:
        return True
    messages = body.get("messages")
    return isinstance(messages, list) and any(
        isinstance(m, Mapping)
        and m.get("role") == "system"
        and CLASSIFICATION_MARKER in message_text(m)
        for m in messages
    )


def no_opinion(text: str) -> dict[str, Any]:
    """The default classification: no opinion, so the caller keeps its own decision."""
    return {
        "route": "unsure",
        "faq_topic": None,
        "products": [],
        "language": detect_language(text),
        "handoff_reason": None,
        "confidence": 0.0,
    }


def answer_text(answer: Any) -> str:
    return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)


# --------------------------------------------------------------------------- configuration


@dataclass
class LlmConfig:
    latency_ms: int = 0
    rpm: int | None = None
    tpm: int | None = None
    fail_status: int | None = None
    fail_count: int | None = None
    permanent_status: int | None = None
    model: str = DEFAULT_MODEL

    def updated(self, patch: Mapping[str, Any]) -> LlmConfig:
        """Return a copy with ``patch`` applied; ValueError on unknown keys or bad types."""
        known = {f.name for f in fields(self)}
        unknown = set(patch) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for key, value in patch.items():
            if key == "model":
                if not isinstance(value, str) or not value:
                    raise ValueError("model must be a non-empty string")
            elif key == "latency_ms":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError("latency_ms must be an integer >= 0")
            elif value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValueError(f"{key} must be an integer >= 0 or null")
            values[key] = value
        for key in ("fail_status", "permanent_status"):
            status = values.get(key)
            if status is not None and not 400 <= status <= 599:
                raise ValueError(f"{key} must be an HTTP error status (400-599)")
        new = replace(self, **values)
        if new.fail_count is not None and new.fail_status is None:
            new.fail_status = 500
        return new


def config_from_env_and_args(
    argv: Sequence[str] | None = None,
) -> tuple[argparse.Namespace, LlmConfig]:
    def env_int(name: str) -> int | None:
        raw = os.environ.get(name)
        return int(raw) if raw not in (None, "") else None

    parser = argparse.ArgumentParser(description="Offline Groq-compatible LLM for tests")
    parser.add_argument("--host", default=os.environ.get("MAILROOM_LLM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env_int("MAILROOM_LLM_PORT") or 28080)
    parser.add_argument("--latency-ms", type=int, default=env_int("MAILROOM_LLM_LATENCY_MS") or 0)
    parser.add_argument("--rpm", type=int, default=env_int("MAILROOM_LLM_RPM"))
    parser.add_argument("--tpm", type=int, default=env_int("MAILROOM_LLM_TPM"))
    parser.add_argument("--fail-status", type=int, default=env_int("MAILROOM_LLM_FAIL_STATUS"))
    parser.add_argument("--fail-count", type=int, default=env_int("MAILROOM_LLM_FAIL_COUNT"))
    parser.add_argument(
        "--permanent-status", type=int, default=env_int("MAILROOM_LLM_PERMANENT_STATUS")
    )
    parser.add_argument("--model", default=os.environ.get("MAILROOM_LLM_MODEL", DEFAULT_MODEL))
    parser.add_argument("--log-level", default=os.environ.get("MAILROOM_LLM_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    config = LlmConfig().updated(
        {
            "latency_ms": args.latency_ms,
            "rpm": args.rpm,
            "tpm": args.tpm,
            "fail_status": args.fail_status,
            "fail_count": args.fail_count,
            "permanent_status": args.permanent_status,
            "model": args.model,
        }
    )
    return args, config


# --------------------------------------------------------------------------- server state


@dataclass
class Stats:
    requests_total: int = 0
    classifications: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    accepted: list[float] = field(default_factory=list)
    recent: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=RECENT_REQUESTS_KEPT)
    )

    def as_json(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "accepted_total": len(self.accepted),
            "classifications": self.classifications,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "accepted": list(self.accepted),
            "recent": list(self.recent),
        }


class LlmState:
    def __init__(self, initial: LlmConfig) -> None:
        self.initial = initial
        self.config = replace(initial)
        self.window = SlidingWindow()
        self.stats = Stats()
        self.rules: list[ClassifierRule] = []
        self.classify_default: Any = None  # None: no opinion

    def reset(self) -> None:
        self.config = replace(self.initial)
        self.window = SlidingWindow()
        self.stats = Stats()
        self.rules = []
        self.classify_default = None

    def classification(self, text: str, model: str) -> tuple[ClassifierRule | None, Any]:
        """The rule that decides (None: the default) and the answer to send."""
        for rule in self.rules:
            if rule.matches(text, model):
                return rule, rule.answer
        default = self.classify_default
        return None, default if default is not None else no_opinion(text)


STATE_KEY: Final = web.AppKey("state", LlmState)


def _json(
    data: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=dict(headers or {}))


def _request_id() -> str:
    return "req_" + uuid.uuid4().hex[:26]


class _Rejected(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _check_injected_failure(state: LlmState, req_id: str) -> None:
    cfg = state.config
    if cfg.permanent_status is not None:
        raise _Rejected(
            _json(error_body(cfg.permanent_status), cfg.permanent_status, {"x-request-id": req_id})
        )
    if cfg.fail_status is not None:
        status = cfg.fail_status
        if cfg.fail_count is not None:
            remaining = cfg.fail_count - 1
            if remaining <= 0:
                state.config = replace(cfg, fail_status=None, fail_count=None)
            else:
                state.config = replace(cfg, fail_count=remaining)
        raise _Rejected(_json(error_body(status), status, {"x-request-id": req_id}))


def _check_rate_limit(state: LlmState, now: float, tokens: int, model: str, req_id: str) -> None:
    cfg = state.config
    window = state.window
    rl = rate_limit_state(window, now, cfg.rpm, cfg.tpm)
    headers = {**ratelimit_headers(rl), "x-request-id": req_id}
    if cfg.tpm is not None and tokens > cfg.tpm:
        msg = (
            f"Request too large for model `{model}` on tokens per minute (TPM): "
            f"Limit {cfg.tpm}, Requested {tokens}, please reduce your message size and try again."
        )
        raise _Rejected(_json(error_body(413, msg, "tokens", "rate_limit_exceeded"), 413, headers))
    wait = 0.0
    kind = ""
    detail = ""
    if cfg.rpm is not None and window.requests(now) >= cfg.rpm:
        wait = window.seconds_until_request_slot(now, cfg.rpm)
        kind = "requests"
        detail = (
            f"on requests per minute (RPM): Limit {cfg.rpm}, "
            f"Used {window.requests(now)}, Requested 1"
        )
    elif cfg.tpm is not None and window.tokens(now) + tokens > cfg.tpm:
        wait = window.seconds_until_tokens(now, cfg.tpm, tokens)
        kind = "tokens"
        detail = (
            f"on tokens per minute (TPM): Limit {cfg.tpm}, "
            f"Used {window.tokens(now)}, Requested {tokens}"
        )
    if kind:
        retry_after = max(1, math.ceil(wait))
        msg = (
            f"Rate limit reached for model `{model}` in organization `org_local` "
            f"service tier `on_demand` {detail}. Please try again in {format_duration(wait)}."
        )
        headers["retry-after"] = str(retry_after)
        raise _Rejected(_json(error_body(429, msg, kind, "rate_limit_exceeded"), 429, headers))


def _scripted(
    state: LlmState, body: Mapping[str, Any], model: str
) -> tuple[ClassifierRule | None, str | None]:
    """For a classification request: the deciding rule (None: the default) and the content."""
    if not is_classification(body):
        return None, None
    state.stats.classifications += 1
    rule, answer = state.classification(last_user_text(body["messages"]), model)
    return rule, answer_text(answer)


def _check_rule(rule: ClassifierRule | None, req_id: str) -> None:
    if rule is not None and rule.status is not None:
        headers = {**rule.headers, "x-request-id": req_id}
        raise _Rejected(_json(error_body(rule.status), rule.status, headers))


def _record(state: LlmState, status: int, model: str, info: Mapping[str, Any]) -> None:
    state.stats.by_status[status] += 1
    state.stats.recent.append({"time": time.time(), "status": status, "model": model, **info})


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    state.stats.requests_total += 1
    req_id = _request_id()
    model = state.config.model

    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        _record(state, 401, model, {})
        return _json(error_body(401), 401, {"x-request-id": req_id})
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        _record(state, 400, model, {})
        return _json(error_body(400, "request body is not valid JSON"), 400)
    messages = body.get("messages") if isinstance(body, dict) else None
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) for m in messages)
    ):
        _record(state, 400, model, {})
        return _json(error_body(400, "'messages' must be a non-empty array"), 400)
    model = str(body.get("model") or model)
    max_tokens_raw = body.get("max_completion_tokens", body.get("max_tokens"))
    max_tokens = max_tokens_raw if isinstance(max_tokens_raw, int) else None

    reply = compose_reply(messages, max_tokens)
    p_tokens = prompt_tokens(messages)
    rule, scripted = _scripted(state, body, model)
    if scripted is not None:
        reply = replace(reply, completion_tokens=estimate_tokens(scripted), finish_reason="stop")
    total = p_tokens + reply.completion_tokens
    now = time.monotonic()
    try:
        _check_injected_failure(state, req_id)
        _check_rate_limit(state, now, total, model, req_id)
        _check_rule(rule, req_id)
    except _Rejected as rejected:
        _record(state, rejected.response.status, model, {"prompt_tokens": p_tokens})
        return rejected.response

    state.window.add(now, total)
    state.stats.accepted.append(time.time())
    headers = {
        **ratelimit_headers(
            rate_limit_state(state.window, now, state.config.rpm, state.config.tpm)
        ),
        "x-request-id": req_id,
    }
    info = {
        "prompt_tokens": p_tokens,
        "completion_tokens": reply.completion_tokens,
        "language": reply.language,
        **({"classification": True} if scripted is not None else {}),
    }
    _record(state, 200, model, info)
    latency_ms = state.config.latency_ms + (rule.latency_ms if rule is not None else 0)
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)

    content = reply.text
    fmt = body.get("response_format")
    if scripted is not None:
        content = scripted
    elif isinstance(fmt, dict) and fmt.get("type") in {"json_object", "json_schema"}:
        content = json.dumps({"reply": reply.text, "language": reply.language}, ensure_ascii=False)
    latency = latency_ms / 1000
    usage = {
        "queue_time": 0.0001,
        "prompt_tokens": p_tokens,
        "prompt_time": round(latency / 4, 6),
        "completion_tokens": reply.completion_tokens,
        "completion_time": round(latency * 3 / 4, 6),
        "total_tokens": total,
        "total_time": round(latency, 6),
    }
    completion_id = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())
    if body.get("stream"):
        return await _stream(
            request,
            headers=headers,
            completion_id=completion_id,
            created=created,
            model=model,
            content=content,
            reply=reply,
            usage=usage,
            req_id=req_id,
        )
    payload = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": usage,
        "system_fingerprint": "fp_mailroom_local",
        "x_groq": {"id": req_id},
    }
    return _json(payload, 200, headers)


async def _stream(
    request: web.Request,
    *,
    headers: Mapping[str, str],
    completion_id: str,
    created: int,
    model: str,
    content: str,
    reply: Reply,
    usage: Mapping[str, Any],
    req_id: str,
) -> web.StreamResponse:
    resp = web.StreamResponse(
        status=200,
        headers={**headers, "Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
    )
    await resp.prepare(request)

    def chunk(delta: Mapping[str, Any], finish: str | None, extra: Mapping[str, Any]) -> bytes:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_mailroom_local",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

    await resp.write(chunk({"role": "assistant", "content": ""}, None, {"x_groq": {"id": req_id}}))
    pieces = content.split(" ")
    for i, piece in enumerate(pieces):
        await resp.write(chunk({"content": piece if i == 0 else " " + piece}, None, {}))
    await resp.write(
        chunk({}, reply.finish_reason, {"x_groq": {"id": req_id, "usage": dict(usage)}})
    )
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


async def list_models(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    names = dict.fromkeys((state.config.model, *MODELS))
    data = [
        {
            "id": name,
            "object": "model",
            "created": 1_700_000_000,
            "owned_by": "mailroom-local",
            "active": True,
            "context_window": 131_072,
        }
        for name in names
    ]
    return _json({"object": "list", "data": data})


async def healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def admin_get_config(request: web.Request) -> web.Response:
    return _json(asdict(request.app[STATE_KEY].config))


async def admin_set_config(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        patch = await request.json()
        if not isinstance(patch, dict):
            raise ValueError("body must be a JSON object")
        state.config = state.config.updated(patch)
    except (ValueError, json.JSONDecodeError) as exc:
        return _json({"error": str(exc)}, 400)
    log.info("config now %s", asdict(state.config))
    return _json(asdict(state.config))


async def admin_reset(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.reset()
    log.info("reset to %s", asdict(state.config))
    return _json(asdict(state.config))


async def admin_stats(request: web.Request) -> web.Response:
    return _json(request.app[STATE_KEY].stats.as_json())


def _classifier_json(state: LlmState) -> dict[str, Any]:
    return {"rules": [r.as_json() for r in state.rules], "default": state.classify_default}


async def admin_get_classifier(request: web.Request) -> web.Response:
    return _json(_classifier_json(request.app[STATE_KEY]))


async def admin_set_classifier(request: web.Request) -> web.Response:
    """Replace the rules and/or the default (keys left out stay as they are)."""
    state = request.app[STATE_KEY]
    try:
        patch = await request.json()
        if not isinstance(patch, dict):
            raise ValueError("body must be a JSON object")
        unknown = set(patch) - {"rules", "default"}
        if unknown:
            raise ValueError(f"unknown keys: {sorted(unknown)}")
        rules = patch.get("rules", None)
        if "rules" in patch:
            if not isinstance(rules, list):
                raise ValueError("rules must be a list")
            state.rules = [ClassifierRule.parse(r) for r in rules]
        if "default" in patch:
            state.classify_default = patch["default"]
    except (ValueError, json.JSONDecodeError) as exc:
        return _json({"error": str(exc)}, 400)
    log.info("classifier table now %d rule(s)", len(state.rules))
    return _json(_classifier_json(state))


def make_app(config: LlmConfig | None = None) -> web.Application:
    app = web.Application()
    app[STATE_KEY] = LlmState(config or LlmConfig())
    app.router.add_post("/openai/v1/chat/completions", chat_completions)
    app.router.add_get("/openai/v1/models", list_models)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/_admin/config", admin_get_config)
    app.router.add_post("/_admin/config", admin_set_config)
    app.router.add_post("/_admin/reset", admin_reset)
    app.router.add_get("/_admin/stats", admin_stats)
    app.router.add_get("/_admin/classifier", admin_get_classifier)
    app.router.add_post("/_admin/classifier", admin_set_classifier)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    args, config = config_from_env_and_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    log.info("offline LLM on http://%s:%d config %s", args.host, args.port, asdict(config))
    web.run_app(make_app(config), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
