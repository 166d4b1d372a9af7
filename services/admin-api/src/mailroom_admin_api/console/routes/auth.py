"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mailroom_admin_api.auth import token_matches
from mailroom_admin_api.console.csrf import (
    CsrfRejected,
    pre_session_token,
    read_form,
    tokens_match,
)
from mailroom_admin_api.console.i18n import LANGUAGE_COOKIE, LANGUAGES
from mailroom_admin_api.console.pages import (
    CheckedFormDep,
    ConsoleView,
    PublicViewDep,
    SignedInViewDep,
)
from mailroom_admin_api.console.security import safe_next
from mailroom_admin_api.console.session import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    b64,
    clear_cookie,
    set_cookie,
)
from mailroom_common.logging import get_logger

__all__ = ["router"]

log = get_logger(__name__)

router = APIRouter(include_in_schema=False)

PRE_SESSION_MAX_AGE_S = 2 * 3600  # how long a sign-in form stays usable
LANGUAGE_MAX_AGE_S = 365 * 86400
NextParam = Annotated[str | None, Query(alias="next", max_length=2000)]


def _pre_cookie(view: ConsoleView) -> str:
    value = view.request.cookies.get(PRE_SESSION_COOKIE, "")
    # Reuse the browser's own value (two tabs keep working); mint one when absent or odd.
    if 20 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
        return value
    return b64(secrets.token_bytes(24))


def _sign_in_page(
    view: ConsoleView,
    next_path: str,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    pre = _pre_cookie(view)
    response = view.render(
        "sign_in.html",
        status=status,
        next_path=next_path,
        sign_in_csrf=pre_session_token(view.state.signer.key, pre),
        error=error,
        notice=notice,
    )
    force = view.state.settings.console_secure_cookies
    set_cookie(
        response, view.request, PRE_SESSION_COOKIE, pre, max_age=PRE_SESSION_MAX_AGE_S, force=force
    )
    return response


@router.get("/console/sign-in")
async def sign_in_form(
    view: PublicViewDep, next_path: NextParam = None, signed_out: bool = False
) -> Response:
    target = safe_next(next_path)
    if view.session is not None:
        return RedirectResponse(target, status_code=303)
    return _sign_in_page(view, target, notice="sign_in.signed_out" if signed_out else None)


@router.post("/console/sign-in")
async def sign_in(view: PublicViewDep) -> Response:
    """Check the pasted token (constant time) and exchange it for a session cookie."""
    request = view.request
    form = await read_form(request)
    pre = request.cookies.get(PRE_SESSION_COOKIE)
    key = view.state.signer.key
    if not pre or not tokens_match(form.get("csrf_token"), pre_session_token(key, pre)):
        raise CsrfRejected
    target = safe_next(form.get("next"))
    settings = view.state.settings
    if not token_matches(form.get("token").strip(), settings.api_token):
        log.info("console.sign_in_refused")
        return _sign_in_page(view, target, status=401, error="sign_in.wrong_token")
    value, session = view.state.signer.issue(time.time())
    response = RedirectResponse(target, status_code=303)
    force = settings.console_secure_cookies
    lifetime = session.expires_at - session.issued_at
    set_cookie(response, request, SESSION_COOKIE, value, max_age=lifetime, force=force)
    clear_cookie(response, request, PRE_SESSION_COOKIE, force=force)
    log.info("console.signed_in")
    return response


@router.post("/console/sign-out")
async def sign_out(view: SignedInViewDep, _form: CheckedFormDep) -> Response:
    assert view.session is not None
    view.state.signer.revoke(view.session, time.time())
    response = RedirectResponse("/console/sign-in?signed_out=true", status_code=303)
    force = view.state.settings.console_secure_cookies
    clear_cookie(response, view.request, SESSION_COOKIE, force=force)
    return response


@router.get("/console/language/{lang}")
async def switch_language(view: PublicViewDep, lang: str, next_path: NextParam = None) -> Response:
    """Remember the language in a cookie and go back to the page (a preference, no data)."""
    response = RedirectResponse(safe_next(next_path), status_code=303)
    if lang in LANGUAGES:
        force = view.state.settings.console_secure_cookies
        set_cookie(
            response, view.request, LANGUAGE_COOKIE, lang, max_age=LANGUAGE_MAX_AGE_S, force=force
        )
    return response
