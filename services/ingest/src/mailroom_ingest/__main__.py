"""``python -m mailroom_ingest`` / ``mailroom-ingest``: read IMAP, publish to Kafka."""

from __future__ import annotations

import asyncio
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
from mailroom_ingest.app import run_service
from mailroom_ingest.settings import IngestSettings

EXIT_CONFIG = 2


def main() -> int:
    try:
        common = load_settings(CommonSettings)
        settings = load_settings(IngestSettings)
        kafka = load_settings(KafkaSettings)
        database = load_settings(DatabaseSettings)
    except SettingsError as exc:
        print(f"mailroom-ingest: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging("ingest", fmt=common.log_format, level=common.log_level)
    telemetry = setup_telemetry("ingest")
    try:
        return asyncio.run(run_service(settings, common, kafka, database))
    finally:
        telemetry.shutdown()


if __name__ == "__main__":
    sys.exit(main())
