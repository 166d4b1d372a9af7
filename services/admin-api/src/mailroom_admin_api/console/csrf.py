"""CSRF protection of every console form, and reading form bodies.

A signed-in form carries ``csrf_token`` = HMAC(console key, "csrf", session id) (the
template variable ``csrf_token``; htmx requests may send it as ``X-CSRF-Token`` instead).
It is bound to the session, so a token from another session, or none, is refused with a
403 page. The sign-in form is protected against login CSRF the same way, bound to a random
pre-session cookie instead of a session. ``SameSite=Strict`` cookies are a second layer.

Forms are ``application/x-www-form-urlencoded`` (what browsers and htmx send), read here
without python-multipart; file uploads are not supported.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from fastapi import Request

from mailroom_admin_api.console.session import sign

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "MAX_FORM_BYTES",
    "CsrfRejected",
    "Form",
    "FormRejected",
    "pre_session_token",
    "presented_token",
    "read_form",
    "tokens_match",
]

MAX_FORM_BYTES = 256 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class CsrfRejected(Exception):
    """A state-changing request without the right CSRF token: answered with a 403 page."""


class FormRejected(Exception):
    """A body that is no form we read (type, size, encoding): answered with a 400 page."""


class Form:
    """A parsed urlencoded form: the first value of a field, or all of them."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self._fields.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self._fields.get(name, ()))

    def __contains__(self, name: object) -> bool:
        return name in self._fields


async def read_form(request: Request) -> Form:
    """The request's urlencoded body; :class:`FormRejected` for anything else."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRejected("form too large")
    if not body:
        return Form({})
    if content_type != FORM_TYPE:
        raise FormRejected(f"expected {FORM_TYPE}")
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormRejected("unreadable form") from exc
    return Form(fields)


def tokens_match(presented: str | None, expected: str) -> bool:
    """Constant-time comparison; an absent token never matches."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "replace"), expected.encode("utf-8"))


def presented_token(request: Request, form: Form) -> str | None:
    return form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)


def pre_session_token(key: bytes, pre_cookie: str) -> str:
    """The sign-in form's CSRF token, bound to the pre-session cookie's random value."""
    return sign(key, "pre-session", pre_cookie)
