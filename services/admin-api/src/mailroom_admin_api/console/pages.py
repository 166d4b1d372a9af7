"""What every console page is built with: the view (render helper) and its dependencies.

A page route takes one of these and returns ``view.render(...)``::

    @router.get("/console/things", include_in_schema=False)
    async def things(view: SignedInViewDep, db: SessionDep) -> HTMLResponse:
        rows = await some_service(db, ...)          # the same services the REST API uses
        return view.render("things.html", active="things", rows=rows)

    @router.post("/console/things/{id}/do", include_in_schema=False)
    async def do(view: SignedInViewDep, form: CheckedFormDep) -> Response:
        ...                                          # the CSRF token was already checked
        return RedirectResponse("/console/things", status_code=303)

``SignedInViewDep`` sends a browser without a valid session to the sign-in page (303,
with ``next``); ``CheckedFormDep`` reads the urlencoded body and refuses it with a 403
page unless it carries the session's CSRF token. Every template gets ``t`` (the
translator: ``t("key")``, ``t.number(n)``, ``t.percent(x)``, ``t.duration(s)``,
``t.when(dt)``), ``lang``, ``session``, ``csrf_token``, ``nav``, ``active``, ``path``,
``static(name)`` and ``refresh_s``, plus what the route passes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any, cast
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from mailroom_admin_api.console.csrf import (
    CSRF_HEADER,
    CsrfRejected,
    Form,
    FormRejected,
    presented_token,
    read_form,
    tokens_match,
)
from mailroom_admin_api.console.i18n import LANGUAGE_COOKIE, Translator, negotiate
from mailroom_admin_api.console.security import safe_next
from mailroom_admin_api.console.session import SESSION_COOKIE, ConsoleSession, SessionSigner
from mailroom_admin_api.services.stats import PastDays
from mailroom_admin_api.settings import AdminSettings

__all__ = [
    "NAV",
    "CheckedFormDep",
    "ConsoleState",
    "ConsoleView",
    "NavItem",
    "PublicViewDep",
    "SignInRequired",
    "SignedInViewDep",
    "build_state",
    "public_view",
    "sign_in_url",
]


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str  # what a page passes as ``active``
    label: str  # a message key
    href: str | None  # None: not built yet, shown disabled


# Every page of the console, in the order of the navigation bar. A page that is added
# sets its href (and its route module is listed in console/routes/__init__.py).
NAV: tuple[NavItem, ...] = (
    NavItem("today", "nav.today", "/console"),
    NavItem("needs_person", "nav.needs_person", "/console/person"),
    NavItem("drafts", "nav.drafts", "/console/drafts"),
    NavItem("mail", "nav.mail", "/console/mail"),
    NavItem("dead_letters", "nav.dead_letters", "/console/dead-letters"),
)


@dataclass(frozen=True, slots=True)
class ConsoleState:
    """Built once per app (no I/O): kept in ``app.state.console``."""

    settings: AdminSettings
    signer: SessionSigner
    templates: jinja2.Environment
    asset_version: str
    # The Today chart's days before today, re-read at most once a minute.
    past_days: PastDays = field(default_factory=PastDays)


def _asset_version() -> str:
    # Static URLs carry a hash of the files, so a browser never keeps an old copy.
    digest = hashlib.sha256()
    root = resources.files("mailroom_admin_api.console").joinpath("static")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_file():
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    return digest.hexdigest()[:12]


def build_state(settings: AdminSettings, key: bytes) -> ConsoleState:
    templates = jinja2.Environment(
        loader=jinja2.PackageLoader("mailroom_admin_api.console", "templates"),
        # Every template is HTML: escape everything, whatever the file name says.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    signer = SessionSigner(key, settings.console_session_hours * 3600)
    past = PastDays(ttl_s=settings.console_chart_cache_s)
    return ConsoleState(settings, signer, templates, _asset_version(), past)


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page, then back to ``next``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def sign_in_url(next_path: str | None = None) -> str:
    base = "/console/sign-in"
    if not next_path or next_path == "/console":
        return base
    return f"{base}?next={quote(next_path, safe='/')}"


@dataclass(frozen=True, slots=True)
class ConsoleView:
    """One request's page context: its language, its session and the render helper."""

    request: Request
    state: ConsoleState
    t: Translator
    session: ConsoleSession | None

    def here(self) -> str:
        """This request's path and query (where sign-in or the language switch returns)."""
        url = self.request.url
        return url.path + (f"?{url.query}" if url.query else "")

    def render(
        self,
        template: str,
        *,
        status: int = 200,
        active: str | None = None,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        version = self.state.asset_version
        values: dict[str, Any] = {
            "t": self.t,
            "lang": self.t.lang,
            "session": self.session,
            "csrf_token": self.session.csrf_token if self.session else "",
            "nav": NAV,
            "active": active,
            "path": self.request.url.path,
            "here": self.here(),
            "static": lambda name: f"/console/static/{name}?v={version}",
            "refresh_s": self.state.settings.console_refresh_s,
        }
        values.update(context)
        html = self.state.templates.get_template(template).render(values)
        return HTMLResponse(html, status_code=status, headers=dict(headers or {}))


def get_state(request: Request) -> ConsoleState:
    return cast(ConsoleState, request.app.state.console)


def public_view(request: Request) -> ConsoleView:
    """The view of any console request, signed in or not (sign-in page, error pages)."""
    state = get_state(request)
    lang = negotiate(request.headers.get("accept-language"), request.cookies.get(LANGUAGE_COOKIE))
    session = state.signer.verify(request.cookies.get(SESSION_COOKIE), time.time())
    return ConsoleView(request, state, Translator(lang), session)


PublicViewDep = Annotated[ConsoleView, Depends(public_view)]


def _return_path(view: ConsoleView) -> str:
    """Where the browser goes back to after signing in."""
    request = view.request
    if request.headers.get("hx-request") == "true":
        # An htmx request (a poll, a fragment) is part of the page the browser shows.
        current = urlsplit(request.headers.get("hx-current-url", ""))
        return safe_next(current.path + (f"?{current.query}" if current.query else ""))
    # A form post cannot be repeated: back to the landing page instead.
    return view.here() if request.method == "GET" else "/console"


def signed_in_view(view: PublicViewDep) -> ConsoleView:
    if view.session is None:
        raise SignInRequired(_return_path(view))
    return view


SignedInViewDep = Annotated[ConsoleView, Depends(signed_in_view)]


async def checked_form(view: SignedInViewDep) -> Form:
    """The posted form, once its CSRF token proved it came from this session's page."""
    assert view.session is not None  # signed_in_view made sure
    expected = view.session.csrf_token
    try:
        form = await read_form(view.request)
    except FormRejected:
        # An unreadable body is refused as CSRF unless the header token was right.
        if not tokens_match(view.request.headers.get(CSRF_HEADER), expected):
            raise CsrfRejected from None
        raise
    if not tokens_match(presented_token(view.request, form), expected):
        raise CsrfRejected
    return form


CheckedFormDep = Annotated[Form, Depends(checked_form)]
