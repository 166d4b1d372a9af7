"""Security headers on every console response, and safe redirect targets."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CONSOLE_PREFIX",
    "CONTENT_SECURITY_POLICY",
    "STATIC_PREFIX",
    "SecurityHeadersMiddleware",
    "console_headers",
    "safe_next",
]

CONSOLE_PREFIX = "/console"
STATIC_PREFIX = "/console/static/"

# No inline script or style anywhere (so no <script> bodies, no style="" attributes, no
# on*="" handlers): scripts and styles come from the console's own static files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ]
)
_COMMON: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)


def console_headers(path: str) -> list[tuple[str, str]]:
    """The headers a console response gets; pages (data) are never stored by caches."""
    cache = "no-cache" if path.startswith(STATIC_PREFIX) else "no-store"
    return [*_COMMON, ("cache-control", cache)]


def _is_console(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


class SecurityHeadersMiddleware:
    """Pure ASGI: sets :func:`console_headers` on every response under ``/console``,
    replacing whatever a route or error handler set for the same names."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not _is_console(path):
            await self.app(scope, receive, send)
            return
        extra = console_headers(path)
        names = {name.encode() for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                headers += [(k.encode(), v.encode()) for k, v in extra]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def safe_next(target: str | None, default: str = CONSOLE_PREFIX) -> str:
    """``target`` if it is a relative path inside the console, else ``default``.

    Refuses absolute and scheme-relative URLs (``//evil``, ``/\\evil``), anything outside
    ``/console``, and control characters, so a ``next`` parameter cannot redirect away.
    """
    if not target or len(target) > 2000:
        return default
    if any(ord(c) < 0x21 or c == "\\" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return default
    if not _is_console(parts.path) or ".." in parts.path.split("/"):
        return default
    return target
