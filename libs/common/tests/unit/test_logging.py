from __future__ import annotations

import json
import logging

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from mailroom_common.logging import configure_logging, emoji_for, get_logger


def test_json_logs_carry_trace_id_and_hide_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", fmt="json")
    structlog.reset_defaults()
    configure_logging("test", fmt="json")
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("s") as span:
        get_logger("x").info(
            "llm.call",
            password="hunter2",
            api_key="gsk_123",
            body="Dear shop " * 50,
            customer_text="hi",
            subject="Hola",
        )
        trace_id = format(span.get_span_context().trace_id, "032x")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "llm.call"
    assert record["trace_id"] == trace_id
    assert record["password"] == "[redacted]"
    assert record["api_key"] == "[redacted]"
    assert "Dear shop" not in line
    assert record["subject"] == "Hola"
    logging.getLogger().handlers.clear()


@pytest.mark.parametrize(
    ("event", "level", "mark"),
    [
        ("imap.connect", "info", "🔌"),
        ("mail.found", "info", "📬"),
        ("llm.call", "info", "🤖"),
        ("faq", "info", "💾"),
        ("dead_letter", "error", "💀"),
        ("alert", "warning", "🚨"),
        ("something.else", "error", "❌"),
        ("something.else", "warning", "⚠️"),
    ],
)
def test_emoji(event: str, level: str, mark: str) -> None:
    assert emoji_for(event, level) == mark
