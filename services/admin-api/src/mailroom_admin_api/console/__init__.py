"""The operator console: server-rendered pages under ``/console`` (see the README's
"Console" section for the security model and how to add a page).

Modules: ``pages`` (the view, its render helper and dependencies, the navigation),
``session`` (signed sessions and cookies), ``csrf`` (form tokens, form reading),
``security`` (headers, safe redirects), ``i18n`` (es/en catalogue), ``routes/`` (one
module per page), ``templates/``, ``static/`` (CSS, the vendored htmx).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from mailroom_admin_api.console.csrf import CsrfRejected, FormRejected
from mailroom_admin_api.console.pages import (
    SignInRequired,
    build_state,
    public_view,
    sign_in_url,
)
from mailroom_admin_api.console.routes import ROUTERS
from mailroom_admin_api.console.security import SecurityHeadersMiddleware
from mailroom_admin_api.console.session import console_key
from mailroom_admin_api.settings import AdminSettings
from mailroom_common.logging import get_logger

__all__ = ["install_console"]

log = get_logger(__name__)


def install_console(app: FastAPI, settings: AdminSettings) -> None:
    """Add the console's routes, static files, error pages and security headers."""
    key = console_key(settings.api_token, settings.console_secret)
    app.state.console = build_state(settings, key)
    for router in ROUTERS:
        app.include_router(router)
    app.mount(
        "/console/static",
        StaticFiles(packages=[("mailroom_admin_api.console", "static")]),
        name="console-static",
    )
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(FormRejected, _form_rejected)
    app.add_middleware(SecurityHeadersMiddleware)


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = sign_in_url(exc.next_path)
    if request.headers.get("hx-request") == "true":
        # An htmx poll after the session ended: make the whole page go to sign-in rather
        # than swapping the sign-in page into a panel.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    log.warning("console.csrf_rejected", path=request.url.path)
    view = public_view(request)
    return view.render(
        "error.html",
        status=403,
        title="error.csrf_title",
        message="error.csrf",
        signed_in=view.session is not None,
    )


async def _form_rejected(request: Request, exc: Exception) -> Response:
    view = public_view(request)
    return view.render(
        "error.html",
        status=400,
        title="error.form_title",
        message="error.form",
        signed_in=view.session is not None,
    )
