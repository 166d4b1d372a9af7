"""Sign-in, sign-out, CSRF, security headers and languages, in a real Chromium."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SESSION_COOKIE = "mailroom_console_session"


def _session_cookie(cookies: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((c for c in cookies if c["name"] == SESSION_COOKIE), None)


async def test_a_page_without_a_session_goes_to_sign_in(page: Any, console: Any) -> None:
    await page.goto("/console")
    assert page.url == f"{console.url}/console/sign-in"
    await page.goto("/console/fragments/providers")
    assert page.url == f"{console.url}/console/sign-in?next=/console/fragments/providers"
    assert await page.get_by_role("heading", name="Sign in").is_visible()
    # The form: a labelled password field, focused, that a keyboard can submit.
    field = page.get_by_label("Admin token")
    assert await field.get_attribute("type") == "password"
    assert await field.evaluate("e => e === document.activeElement")
    await console.screenshot(page, "sign-in-en")
    assert page.problems == []


async def test_the_right_token_opens_today_with_a_safe_session_cookie(
    page: Any, context: Any, console: Any
) -> None:
    await page.goto("/console/sign-in")
    await page.get_by_label("Admin token").fill(console.token)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{console.url}/console")
    assert await page.get_by_role("heading", name="Today", level=1).is_visible()
    cookie = _session_cookie(await context.cookies())
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain http on 127.0.0.1, not forced
    assert cookie["path"] == "/console"
    assert console.token not in cookie["value"]
    # ADMIN_CONSOLE_SESSION_HOURS defaults to 12.
    assert 11.9 * 3600 < cookie["expires"] - time.time() <= 12 * 3600
    # The token is in no page, URL or script-readable cookie.
    assert console.token not in await page.content()
    assert console.token not in page.url
    assert SESSION_COOKIE not in await page.evaluate("document.cookie")


async def test_next_brings_the_operator_back_and_never_elsewhere(page: Any, console: Any) -> None:
    await console.sign_in(page, next_path="?next=//evil.example/console")
    assert page.url == f"{console.url}/console"
    await page.goto("/console/sign-in?next=/console/fragments/providers")
    # Already signed in: straight on.
    assert page.url == f"{console.url}/console/fragments/providers"


async def test_a_wrong_token_is_refused_and_sets_no_cookie(
    page: Any, context: Any, console: Any
) -> None:
    await page.goto("/console/sign-in")
    wrong = "not-the-token-" + "x" * 20
    await page.get_by_label("Admin token").fill(wrong)
    async with page.expect_response("**/console/sign-in") as answer:
        await page.get_by_role("button", name="Sign in").click()
    assert (await answer.value).status == 401
    alert = page.get_by_role("alert")
    assert await alert.inner_text() == "That is not the admin token."
    assert await page.get_by_label("Admin token").get_attribute("aria-invalid") == "true"
    assert _session_cookie(await context.cookies()) is None
    assert wrong not in await page.content()
    await console.screenshot(page, "sign-in-wrong-token")
    await page.goto("/console")
    assert page.url.endswith("/console/sign-in")


async def test_sign_out_ends_the_session(page: Any, context: Any, console: Any) -> None:
    await console.sign_in(page)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/console/sign-in?signed_out=true")
    assert await page.get_by_role("status").inner_text() == "You have signed out."
    assert _session_cookie(await context.cookies()) is None
    await page.goto("/console")
    assert page.url.endswith("/console/sign-in")


async def test_a_post_without_the_csrf_token_is_refused(page: Any, console: Any) -> None:
    await console.sign_in(page)
    # The page's request context sends the session cookie, as a forged post would.
    refused = await page.request.post("/console/sign-out")
    assert refused.status == 403
    assert "Form refused" in await refused.text()
    wrong = await page.request.post("/console/sign-out", form={"csrf_token": "A" * 43})
    assert wrong.status == 403
    # The same in the browser: the form without its hidden token.
    await page.locator('form[action="/console/sign-out"] input[name="csrf_token"]').evaluate(
        "e => e.remove()"
    )
    async with page.expect_response("**/console/sign-out") as answer:
        await page.get_by_role("button", name="Sign out").click()
    assert (await answer.value).status == 403
    assert await page.get_by_role("heading", name="Form refused").is_visible()
    await console.screenshot(page, "csrf-refused")
    # Nothing happened: still signed in.
    await page.goto("/console")
    assert await page.get_by_role("heading", name="Today", level=1).is_visible()


async def test_every_page_has_the_security_headers(page: Any, console: Any) -> None:
    sign_in = await page.goto("/console/sign-in")
    await console.sign_in(page)
    today = await page.goto("/console")
    css = await page.request.get("/console/static/console.css")
    for response, cache in ((sign_in, "no-store"), (today, "no-store"), (css, "no-cache")):
        h = response.headers
        csp = h["content-security-policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
        ):
            assert directive in csp
        assert "unsafe-inline" not in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-frame-options"] == "DENY"
        assert "permissions-policy" in h
        assert h["cache-control"] == cache
    # htmx ran under that policy and polled the provider panel without a violation.
    async with page.expect_response("**/console/fragments/providers", timeout=10_000):
        pass
    assert await page.evaluate("typeof htmx") == "object"
    assert page.problems == []


async def test_spanish_from_the_browser_and_the_switch_to_english(
    browser: Any, console: Any
) -> None:
    context = await browser.new_context(
        base_url=console.url,
        locale="es-ES",
        extra_http_headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"},
    )
    try:
        page = await context.new_page()
        await page.goto("/console/sign-in")
        assert await page.get_attribute("html", "lang") == "es"
        await page.get_by_label("Token de administración").fill(console.token)
        await page.get_by_role("button", name="Entrar").click()
        await page.wait_for_url(f"{console.url}/console")
        assert await page.get_by_role("heading", name="Hoy", level=1).is_visible()
        assert await page.get_by_role("link", name="Hoy").get_attribute("aria-current") == "page"
        await console.screenshot(page, "today-es")
        await page.get_by_role("link", name="English").click()
        await page.wait_for_url(f"{console.url}/console")
        assert await page.get_attribute("html", "lang") == "en"
        assert await page.get_by_role("heading", name="Today", level=1).is_visible()
        # The choice is remembered over the browser's Spanish.
        await page.reload()
        assert await page.get_attribute("html", "lang") == "en"
        await page.get_by_role("link", name="Español").click()
        await page.wait_for_url(f"{console.url}/console")
        assert await page.get_attribute("html", "lang") == "es"
    finally:
        await context.close()
