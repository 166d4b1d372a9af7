"""Signed, expiring console sessions, and the cookies that carry them.

The operator signs in with the admin token once; the cookie then holds a session, never
the token: ``v1.<session id>.<issued>.<expires>.<signature>``, where the signature is
HMAC-SHA256 over the rest under :func:`console_key`. The key is derived from
``ADMIN_API_TOKEN`` and the optional ``ADMIN_CONSOLE_SECRET``, so changing either signs every
session out, and every admin-api replica with the same configuration accepts the same
sessions (nothing is stored server-side). Sign-out also records the session id in this
process's :class:`Revocations` until it would have expired anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from fastapi import Request, Response
from pydantic import SecretStr

__all__ = [
    "COOKIE_PATH",
    "PRE_SESSION_COOKIE",
    "SESSION_COOKIE",
    "ConsoleSession",
    "Revocations",
    "SessionSigner",
    "b64",
    "clear_cookie",
    "console_key",
    "is_secure",
    "set_cookie",
    "sign",
]

SESSION_COOKIE = "mailroom_console_session"
# Before sign-in: a random value the sign-in form's CSRF token is bound to (csrf.py).
PRE_SESSION_COOKIE = "mailroom_console_pre"
COOKIE_PATH = "/console"
_VERSION = "v1"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def console_key(token: SecretStr, secret: SecretStr | None) -> bytes:
    """The console's signing key: HMAC-SHA256(secret, label ‖ token).

    Deterministic, so replicas agree; one-way, so neither a cookie nor a CSRF token
    reveals the token.
    """
    salt = b"mailroom-console-v1:" + (secret.get_secret_value().encode() if secret else b"")
    return hmac.new(salt, token.get_secret_value().encode("utf-8"), hashlib.sha256).digest()


def sign(key: bytes, purpose: str, value: str) -> str:
    """A MAC of ``value`` for one ``purpose`` (session, csrf, pre-session)."""
    return b64(hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest())


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in operator's session (the shared token names nobody, so no user name)."""

    sid: str
    issued_at: int
    expires_at: int
    csrf_token: str


class Revocations:
    """Session ids signed out in this process, kept until they would have expired."""

    def __init__(self) -> None:
        self._until: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, sid: str, expires_at: int, now: float) -> None:
        with self._lock:
            self._until = {s: e for s, e in self._until.items() if e > now}
            self._until[sid] = expires_at

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            return sid in self._until


class SessionSigner:
    """Issues and checks session cookies; pure apart from the revocation list."""

    def __init__(self, key: bytes, lifetime_s: float) -> None:
        self._key = key
        self.lifetime_s = int(lifetime_s)
        self.revoked = Revocations()

    @property
    def key(self) -> bytes:
        return self._key

    def issue(self, now: float) -> tuple[str, ConsoleSession]:
        sid = b64(secrets.token_bytes(18))
        issued = int(now)
        expires = issued + self.lifetime_s
        body = f"{_VERSION}.{sid}.{issued}.{expires}"
        return f"{body}.{sign(self._key, 'session', body)}", self._session(sid, issued, expires)

    def verify(self, value: str | None, now: float) -> ConsoleSession | None:
        """The session a cookie value carries, or None if forged, malformed, expired or
        signed out."""
        if not value or len(value) > 256:
            return None
        body, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac.encode(), sign(self._key, "session", body).encode()):
            return None
        parts = body.split(".")
        if len(parts) != 4 or parts[0] != _VERSION:
            return None
        _, sid, issued_s, expires_s = parts
        try:
            issued, expires = int(issued_s), int(expires_s)
        except ValueError:
            return None
        if not issued <= now < expires or sid in self.revoked:
            return None
        return self._session(sid, issued, expires)

    def revoke(self, session: ConsoleSession, now: float) -> None:
        self.revoked.add(session.sid, session.expires_at, now)

    def _session(self, sid: str, issued: int, expires: int) -> ConsoleSession:
        return ConsoleSession(sid, issued, expires, sign(self._key, "csrf", sid))


def is_secure(request: Request, force: bool) -> bool:
    """Secure cookies on HTTPS, or always when ``ADMIN_CONSOLE_SECURE_COOKIES`` says so."""
    return force or request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int, force: bool
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_secure(request, force),
    )


def clear_cookie(response: Response, request: Request, name: str, *, force: bool) -> None:
    response.delete_cookie(
        name,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_secure(request, force),
    )
