"""Debian's Chromium for the browser tests, driven by Playwright (never downloaded).

``bash deploy/local/stack.sh browser`` installs it (``make test`` does). The flags are the
ones this machine needs: headless, no sandbox (tests run as root), and none of Chromium's
background network traffic, which the closed network refuses.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "chromium", "missing_message"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing_message() -> str | None:
    """Why the browser cannot start, or None."""
    if os.access(CHROMIUM, os.X_OK):
        return None
    return (
        f"{CHROMIUM} is missing: the browser tests need Debian's chromium; "
        "install it with `bash deploy/local/stack.sh browser` (make test does)"
    )


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A launched Playwright browser (a fresh, empty profile every launch)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()
