"""``python -m mailroom_sender [all|send|project]`` — the sender Deployment's entrypoint."""

from __future__ import annotations

import argparse
import asyncio
import sys

from mailroom_common.config import (
    CommonSettings,
    DatabaseSettings,
    KafkaSettings,
    SettingsError,
    load_settings,
)
from mailroom_common.logging import configure_logging, get_logger
from mailroom_common.telemetry import setup_telemetry

from .app import Settings, run
from .settings import SenderSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailroom_sender", description=__doc__)
    parser.add_argument(
        "mode",
        nargs="?",
        default="all",
        choices=["all", "send", "project"],
        help="all = sender and projector in one process (default)",
    )
    args = parser.parse_args(argv)
    try:
        cfg = Settings(
            load_settings(SenderSettings),
            load_settings(CommonSettings),
            load_settings(KafkaSettings),
            load_settings(DatabaseSettings),
        )
    except SettingsError as exc:
        print(f"mailroom_sender: {exc}", file=sys.stderr)
        return 2
    configure_logging("sender", fmt=cfg.common.log_format, level=cfg.common.log_level)
    telemetry = setup_telemetry("mailroom-sender")
    log = get_logger("mailroom_sender")
    try:
        asyncio.run(run(cfg, args.mode))
    except KeyboardInterrupt:
        pass
    finally:
        telemetry.shutdown()
    log.info("sender.stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
