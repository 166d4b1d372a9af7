"""Structured logging with structlog: JSON for machines, emoji console for people.

Every record carries the current trace and span id. A redaction processor removes
secrets and bodies, whatever a caller passes, so no log line leaks them.
Event names are dotted (``imap.connect``, ``llm.call``); the console renderer marks each
kind with the emoji an operator knows from the seed guide.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace

__all__ = ["EMOJI", "configure_logging", "get_logger", "redact"]

# Prefix of the event name -> emoji shown by the console renderer.
EMOJI: dict[str, str] = {
    "imap.connect": "🔌",
    "mail.found": "📬",
    "mail.processing": "📧",
    "intent": "🎯",
    "catalogue": "📦",
    "llm": "🤖",
    "faq": "💾",
    "done": "✅",
    "waiting": "⏳",
    "warning": "⚠️",
    "error": "❌",
    "dead_letter": "💀",
    "alert": "🚨",
}

_SECRET_KEYS = ("password", "secret", "token", "api_key", "apikey", "authorization", "cookie")
_BODY_KEYS = ("body", "text", "html", "quoted_text", "reply_text", "prompt", "content", "raw")
_MAX_VALUE_CHARS = 300


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Drop secrets and bodies; shorten any long value."""
    for key in list(event_dict):
        if key == "event":
            continue
        lowered = key.lower()
        if any(s in lowered for s in _SECRET_KEYS):
            event_dict[key] = "[redacted]"
        elif lowered in _BODY_KEYS or lowered.endswith("_body"):
            value = event_dict[key]
            size = len(value) if isinstance(value, str | bytes) else None
            event_dict[key] = f"[{size} chars omitted]" if size is not None else "[omitted]"
        else:
            value = event_dict[key]
            if isinstance(value, str) and len(value) > _MAX_VALUE_CHARS:
                event_dict[key] = value[:_MAX_VALUE_CHARS] + "…"
    return event_dict


def add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    span_ctx = trace.get_current_span().get_span_context()
    if span_ctx.is_valid:
        event_dict["trace_id"] = format(span_ctx.trace_id, "032x")
        event_dict["span_id"] = format(span_ctx.span_id, "016x")
    return event_dict


def emoji_for(event: str, level: str) -> str:
    for prefix, mark in EMOJI.items():
        if event == prefix or event.startswith(prefix + "."):
            return mark
    if level in ("error", "critical", "exception"):
        return EMOJI["error"]
    if level == "warning":
        return EMOJI["warning"]
    return "·"


def add_emoji(
    _logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event = str(event_dict.get("event", ""))
    event_dict["event"] = f"{emoji_for(event, method)} {event}"
    return event_dict


def configure_logging(service: str, *, fmt: str = "console", level: str = "INFO") -> None:
    """Route structlog and stdlib logging through one pipeline; call once at start-up."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_ids,
        redact,
    ]
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        shared.append(add_emoji)
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        # Filtering first makes a disabled debug line cost almost nothing.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
