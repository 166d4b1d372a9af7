"""The console's foundation without a database: sign-in, sessions, CSRF, headers, i18n.

The app is never started (no lifespan), so only pages that need no PostgreSQL answer
fully; the Today page is covered by the browser tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import date
from importlib import resources
from pathlib import Path

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr

from mailroom_admin_api.app import create_app
from mailroom_admin_api.console.charts import day_chart, nice_ceiling
from mailroom_admin_api.console.i18n import MESSAGES, Translator, negotiate
from mailroom_admin_api.console.security import CONTENT_SECURITY_POLICY, safe_next
from mailroom_admin_api.console.session import SessionSigner, console_key
from mailroom_admin_api.schemas import DayVolume
from mailroom_admin_api.settings import AdminSettings, ServiceSettings
from mailroom_common.config import CommonSettings, DatabaseSettings, KafkaSettings

TOKEN = "unit-test-token-0123456789abcdef"
CONSOLE = Path(str(resources.files("mailroom_admin_api.console")))
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"


def _app(**admin: object):  # type: ignore[no-untyped-def]
    return create_app(
        ServiceSettings(
            admin=AdminSettings(api_token=SecretStr(TOKEN), **admin),  # type: ignore[arg-type]
            kafka=KafkaSettings(),
            database=DatabaseSettings(),
            common=CommonSettings(),
        )
    )


APP = _app()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        yield c


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def _sign_in(client: httpx.AsyncClient, token: str = TOKEN, nxt: str = "/console"):  # type: ignore[no-untyped-def]
    form = await client.get("/console/sign-in")
    return await client.post(
        "/console/sign-in",
        data={"csrf_token": _csrf(form.text), "token": token, "next": nxt},
    )


# ------------------------------------------------------------------ sign-in and sessions
async def test_a_page_without_a_session_redirects_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"
    response = await client.get("/console/fragments/providers?x=1")
    expected = "/console/sign-in?next=/console/fragments/providers%3Fx%3D1"
    assert response.headers["location"] == expected


async def test_htmx_requests_without_a_session_redirect_the_whole_page(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/console/fragments/providers", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "/console/sign-in"
    # Back to the page the fragment is part of, never to another site.
    for current, expected in (
        (
            "http://admin.test/console/mail?status=sent",
            "/console/sign-in?next=/console/mail%3Fstatus%3Dsent",
        ),
        ("https://evil.example/x", "/console/sign-in"),
    ):
        response = await client.get(
            "/console/fragments/providers",
            headers={"HX-Request": "true", "HX-Current-URL": current},
        )
        assert response.headers["hx-redirect"] == expected


async def test_sign_in_sets_a_signed_session_cookie_not_the_token(
    client: httpx.AsyncClient,
) -> None:
    response = await _sign_in(client, nxt="/console/fragments/providers")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/fragments/providers"
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("mailroom_console_session="))
    assert TOKEN not in session
    assert "HttpOnly" in session
    assert "SameSite=strict" in session
    assert "Max-Age=43200" in session
    assert "Path=/console" in session
    assert "Secure" not in session  # plain http, not forced
    assert any(c.startswith("mailroom_console_pre=") and "Max-Age=0" in c for c in cookies)
    # Signed in: the sign-in page sends the browser on.
    again = await client.get("/console/sign-in?next=/console")
    assert again.status_code == 303


async def test_a_wrong_token_sets_no_session(client: httpx.AsyncClient) -> None:
    response = await _sign_in(client, token=TOKEN + "x")
    assert response.status_code == 401
    assert "not the admin token" in response.text or "no es el token" in response.text
    assert not any(
        c.startswith("mailroom_console_session=") for c in response.headers.get_list("set-cookie")
    )
    assert TOKEN not in response.text


async def test_sign_in_without_the_pre_session_token_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/console/sign-in")
    response = await client.post(
        "/console/sign-in", data={"csrf_token": "forged", "token": TOKEN, "next": "/console"}
    )
    assert response.status_code == 403
    client.cookies.clear()
    form = await client.get("/console/sign-in")
    csrf = _csrf(form.text)
    client.cookies.clear()  # a login-CSRF page has the token but not the victim's cookie
    response = await client.post("/console/sign-in", data={"csrf_token": csrf, "token": TOKEN})
    assert response.status_code == 403


async def test_secure_cookies_on_https_or_when_forced() -> None:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="https://admin.test") as c:
        response = await _sign_in(c)
        assert response.status_code == 303, response.text
        session = next(
            x
            for x in response.headers.get_list("set-cookie")
            if x.startswith("mailroom_console_session=")
        )
        assert "Secure" in session
    # Forced (behind a TLS-terminating proxy): even the plain-HTTP sign-in form's cookie.
    transport = httpx.ASGITransport(app=_app(console_secure_cookies=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        form = await c.get("/console/sign-in")
        assert "Secure" in form.headers["set-cookie"]


async def test_sign_out_needs_the_csrf_token_then_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    await _sign_in(client)
    page = await client.get("/console/sign-in?next=/console/language/en")
    assert page.status_code == 303
    # Any signed-in page carries the session's token; the error page does too.
    refused = await client.post("/console/sign-out")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    wrong = await client.post("/console/sign-out", data={"csrf_token": "x" * 43})
    assert wrong.status_code == 403
    token = _csrf(refused.text)
    response = await client.post("/console/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?signed_out=true"
    # The cookie is gone, and the old value is refused (revoked) even if replayed.
    assert (await client.get("/console")).status_code == 303


async def test_a_revoked_or_forged_session_value_is_refused() -> None:
    signer = SessionSigner(console_key(SecretStr(TOKEN), None), 3600)
    value, session = signer.issue(1000.0)
    assert signer.verify(value, 1001.0) == session
    assert signer.verify(value, 1000.0 + 3600) is None  # expired
    assert signer.verify(value.replace("v1.", "v2.", 1), 1001.0) is None
    assert signer.verify(value[:-2] + "AA", 1001.0) is None
    other = SessionSigner(console_key(SecretStr(TOKEN), SecretStr("another-secret")), 3600)
    assert other.verify(value, 1001.0) is None  # the server secret is part of the key
    signer.revoke(session, 1002.0)
    assert signer.verify(value, 1003.0) is None
    assert session.csrf_token != signer.issue(1000.0)[1].csrf_token


def test_the_blank_console_secret_means_none() -> None:
    assert AdminSettings(api_token=SecretStr(TOKEN), console_secret="  ").console_secret is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/mail?status=sent", "/console/mail?status=sent"),
        (None, "/console"),
        ("//evil.example/console", "/console"),
        ("/\\evil.example", "/console"),
        ("https://evil.example/console", "/console"),
        ("/v1/tasks", "/console"),
        ("/consolex", "/console"),
        ("/console/../v1/tasks", "/console"),
        ("/console\r\nSet-Cookie: x", "/console"),
        ("javascript:alert(1)", "/console"),
    ],
)
def test_next_stays_inside_the_console(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


# ------------------------------------------------------------------ headers
async def test_every_console_response_has_the_security_headers(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/console/sign-in", "/console", "/console/static/console.css", "/console/nope"):
        response = await client.get(path)
        h = response.headers
        assert h["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert "'unsafe-inline'" not in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "no-referrer"
        assert "camera=()" in h["permissions-policy"]
        expected_cache = "no-cache" if "/static/" in path else "no-store"
        assert h["cache-control"] == expected_cache, path
    api = await client.get("/healthz")
    assert "content-security-policy" not in api.headers


def test_console_routes_are_not_in_the_openapi_document() -> None:
    assert not [p for p in APP.openapi()["paths"] if p.startswith("/console")]
    console = [
        c.path for c in iter_route_contexts(APP.routes) if (c.path or "").startswith("/console")
    ]
    assert "/console" in console
    assert "/console/sign-in" in console


def test_templates_have_no_inline_script_or_style() -> None:
    for template in (CONSOLE / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert "style=" not in text, template.name
        assert "<style" not in text, template.name
        assert not re.search(r"\son[a-z]+=", text), template.name
        assert "|safe" not in text, template.name
        assert "autoescape false" not in text, template.name


def test_the_vendored_htmx_is_the_recorded_file() -> None:
    data = (CONSOLE / "static" / "htmx-2.0.11.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == HTMX_SHA256
    readme = (CONSOLE / "static" / "README.md").read_text(encoding="utf-8")
    assert HTMX_SHA256 in readme
    assert "htmx-2.0.11.min.js" in (CONSOLE / "templates" / "base.html").read_text()


# ------------------------------------------------------------------ i18n
def test_every_message_has_both_languages_and_the_same_placeholders() -> None:
    for key, (es, en) in MESSAGES.items():
        assert es.strip(), key
        assert en.strip(), key
        assert set(re.findall(r"\{(\w+)\}", es)) == set(re.findall(r"\{(\w+)\}", en)), key


def test_every_message_key_used_by_a_template_or_module_exists() -> None:
    used: set[str] = set()
    for path in [*(CONSOLE / "templates").glob("*.html"), *CONSOLE.rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_]+)["']""", text))
        used |= set(re.findall(r"""["']((?:nav|error|sign_in)\.[a-z_]+)["']""", text))
    used -= {"error.html", "sign_in.html"}  # template names, not messages
    missing = sorted(k for k in used if k not in MESSAGES)
    assert not missing


@pytest.mark.parametrize(
    ("header", "cookie", "expected"),
    [
        ("en-GB,en;q=0.9,es;q=0.8", None, "en"),
        ("es-ES,es;q=0.9,en;q=0.8", None, "es"),
        ("fr-FR,fr;q=0.9,en;q=0.5", None, "en"),
        ("en;q=0.2,es;q=0.7", None, "es"),
        ("en;q=0", None, "es"),
        ("de", None, "es"),
        (None, None, "es"),
        ("en", "es", "es"),
        ("es", "en", "en"),
        ("en", "fr", "en"),
    ],
)
def test_language_negotiation(header: str | None, cookie: str | None, expected: str) -> None:
    assert negotiate(header, cookie) == expected


def test_number_formats_per_language() -> None:
    es, en = Translator("es"), Translator("en")
    assert es.percent(0.931) == "93,1 %"
    assert en.percent(0.931) == "93.1%"
    assert en.number(12345) == "12,345"
    assert es.number(12345) == "12\u2009345"
    assert en.money(0.0123) == "US$0.0123"
    assert es.money(12.5) == "12,50 US$"
    assert en.money(0.5) == "US$0.50"
    assert en.money(0.0) == "US$0.00"
    assert en.duration(42) == "42 s"
    assert en.duration(3 * 3600 + 120) == "3 h 2 min"
    assert en.duration(None) == "—"
    assert es.label("status", "sent") == "Enviado"
    assert es.label("status", "brand_new") == "brand_new"


async def test_the_language_follows_the_browser_and_the_switch(
    client: httpx.AsyncClient,
) -> None:
    english = await client.get("/console/sign-in", headers={"Accept-Language": "en-US,en"})
    assert '<html lang="en">' in english.text
    assert "Admin token" in english.text
    spanish = await client.get("/console/sign-in", headers={"Accept-Language": "es-ES"})
    assert '<html lang="es">' in spanish.text
    assert "Token de administración" in spanish.text
    switch = await client.get("/console/language/es?next=/console/sign-in")
    assert switch.status_code == 303
    assert switch.headers["location"] == "/console/sign-in"
    assert "mailroom_console_lang=es" in switch.headers["set-cookie"]
    chosen = await client.get("/console/sign-in", headers={"Accept-Language": "en"})
    assert '<html lang="es">' in chosen.text
    evil = await client.get("/console/language/en?next=https://evil.example/")
    assert evil.headers["location"] == "/console"


# ------------------------------------------------------------------ chart
def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 51, 200)] == [1, 1, 5, 10, 20, 100, 200]


def test_day_chart_stacks_automated_below_the_rest() -> None:
    days = [
        DayVolume(day=date(2026, 12, 1), tasks=10, answerable=9, automated=6),
        DayVolume(day=date(2026, 12, 2), tasks=0, answerable=0, automated=0),
    ]
    chart = day_chart(days)
    assert chart.y_max == 10
    full, empty = chart.bars
    plot_h = chart.plot_bottom - chart.plot_top
    assert full.automated_h == pytest.approx(plot_h * 0.6, abs=0.1)
    assert full.other_y + full.other_h == pytest.approx(full.automated_y, abs=0.1)
    assert full.automated_y + full.automated_h == pytest.approx(chart.plot_bottom, abs=0.1)
    assert empty.automated_h == empty.other_h == 0
    assert full.label == "1"
    assert [v for _, v in chart.ticks] == [0, 5, 10]
    assert [v for _, v in day_chart(days[:1] * 1).ticks] == [0, 5, 10]
    odd = day_chart([DayVolume(day=date(2026, 12, 1), tasks=4, answerable=4, automated=1)])
    assert [v for _, v in odd.ticks] == [0, 5]
