"""``python -m mailroom_admin_api`` / ``mailroom-admin-api``: serve the admin API."""

from __future__ import annotations

import sys

import uvicorn

from mailroom_admin_api.app import create_app
from mailroom_admin_api.settings import load_service_settings
from mailroom_common.config import SettingsError
from mailroom_common.logging import configure_logging, get_logger
from mailroom_common.telemetry import setup_telemetry

__all__ = ["main"]


def main() -> int:
    try:
        settings = load_service_settings()
    except SettingsError as exc:
        # Before logging is configured: a plain line on stderr is what an operator sees.
        print(f"mailroom-admin-api: {exc}", file=sys.stderr)
        return 2
    configure_logging("admin-api", fmt=settings.common.log_format, level=settings.common.log_level)
    telemetry = setup_telemetry("admin-api")
    log = get_logger("mailroom_admin_api")
    log.info("admin_api.listen", host=settings.admin.host, port=settings.admin.port)
    try:
        uvicorn.run(
            create_app(settings),
            host=settings.admin.host,
            port=settings.admin.port,
            log_config=None,
            proxy_headers=False,
        )
    finally:
        telemetry.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
