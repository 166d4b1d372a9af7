"""``python -m mailroom_responder worker``: settings from the environment, then Faust's CLI."""

from __future__ import annotations

import sys

from mailroom_common.config import (
    CommonSettings,
    DatabaseSettings,
    KafkaSettings,
    SettingsError,
    load_settings,
)
from mailroom_common.logging import configure_logging
from mailroom_common.telemetry import setup_telemetry
from mailroom_responder.llm_client import GroqChat, GroqClassifier
from mailroom_responder.service import build_service
from mailroom_responder.settings import GroqSettings, ResponderSettings


def main() -> None:
    try:
        settings = load_settings(ResponderSettings)
        groq = load_settings(GroqSettings)
        kafka = load_settings(KafkaSettings)
        common = load_settings(CommonSettings)
        database = load_settings(DatabaseSettings)
    except SettingsError as exc:
        print(f"mailroom-responder: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("responder", fmt=common.log_format, level=common.log_level)
    setup_telemetry("mailroom-responder")
    service = build_service(
        settings=settings,
        groq=groq,
        kafka=kafka,
        common=common,
        database=database,
        client=GroqChat(groq),
        classifier_client=GroqClassifier(
            groq, model=settings.classifier_model, max_tokens=settings.classifier_max_tokens
        ),
    )
    app = service.app

    async def logging_after_faust() -> None:
        # Faust's worker installs its own log handlers and redirects stdout/stderr into
        # logging; a handler on the redirected stream would feed itself. Restore the real
        # streams, then put our structlog pipeline back.
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        configure_logging("responder", fmt=common.log_format, level=common.log_level)

    app.task(logging_after_faust)
    app.main()


if __name__ == "__main__":
    main()
