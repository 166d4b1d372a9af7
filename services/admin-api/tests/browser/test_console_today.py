"""The Today page in a real Chromium: seeded figures, the chart, the live provider panel.

The database is the whole run's, so every figure is read before and after seeding this
test's rows and only the difference is asserted.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailroom_common.db.models import DeadLetterRecord, EmailTask

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _task(seeder: Any, n: int, created_at: datetime, **fields: Any) -> EmailTask:
    values: dict[str, Any] = {
        "message_key": seeder.key(n),
        "thread_key": seeder.key(n),
        "mailbox": "shop@mailroom.test",
        "from_address": f"customer{n}@example.com",
        "subject": f"<script>alert({n})</script> subject",
        "status": "received",
        "received_at": created_at,
        "created_at": created_at,
        "updated_at": created_at,
        "status_at": created_at,
    }
    values.update(fields)
    return EmailTask(**values)


def _int(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text.split("\n", maxsplit=1)[0]) or 0)


async def _figures(page: Any) -> dict[str, str]:
    out = {}
    for figure in await page.locator("[data-figure]").all():
        name = await figure.get_attribute("data-figure")
        out[name] = await figure.locator("dd").inner_text()
    return out


async def _table(page: Any, table: str) -> dict[str, int]:
    rows = {}
    for row in await page.locator(f'table[data-table="{table}"] tbody tr').all():
        key = await row.get_attribute("data-value") or await row.get_attribute("data-day")
        rows[key] = _int(await row.locator("td").last.inner_text())
    return rows


async def _days(page: Any) -> dict[str, tuple[int, int]]:
    out = {}
    for row in await page.locator('table[data-table="days"] tbody tr').all():
        cells = await row.locator("td").all_text_contents()
        out[await row.get_attribute("data-day")] = (_int(cells[0]), _int(cells[2]))
    return out


def _money(text: str) -> float:
    return float(re.search(r"US\$([\d,.]+)", text).group(1).replace(",", ""))  # type: ignore[union-attr]


async def test_today_shows_the_seeded_figures(page: Any, console: Any) -> None:
    await console.sign_in(page)
    before = await _figures(page)
    routes_before = await _table(page, "route")
    days_before = await _days(page)

    now = datetime.now(UTC)
    s = console.seeder
    three_days_ago = now - timedelta(days=3)
    await s.add(
        *(
            _task(
                s,
                n,
                now - timedelta(minutes=30 + n),
                status="sent",
                route="faq",
                first_replied_at=now - timedelta(minutes=29 + n),
            )
            for n in range(3)
        ),
        _task(
            s,
            3,
            now - timedelta(minutes=20),
            status="sent",
            route="llm",
            model="llama-test",
            attempts=1,
            prompt_tokens=100,
            completion_tokens=50,
            cost_usd=0.5,
            first_replied_at=now - timedelta(minutes=19),
        ),
        _task(s, 4, now - timedelta(minutes=10), status="handoff", route="handoff"),
        _task(s, 5, three_days_ago, status="sent", route="catalogue"),
        _task(s, 6, three_days_ago, status="ignored", route="ignored"),
    )
    await s.add(
        DeadLetterRecord(
            id=uuid.uuid4(),
            message_key=s.key(7),
            stage="responder",
            error_class="ConsoleTestError",
            error_message="kept failing",
            attempts=5,
            original_topic="mail.inbound",
            original={},
            first_failure_at=now - timedelta(minutes=5),
            last_failure_at=now - timedelta(minutes=4),
            trace_id=uuid.uuid4().hex,
            created_at=now - timedelta(minutes=4),
        )
    )

    await page.reload()
    after = await _figures(page)
    assert _int(after["tasks"]) - _int(before["tasks"]) == 5  # the 24 h window
    assert _int(after["waiting"]) - _int(before["waiting"]) == 1
    assert "the oldest has waited" in after["waiting"]
    assert _int(after["dead-letters"]) - _int(before["dead-letters"]) == 1
    assert _money(after["llm-cost"]) - _money(before["llm-cost"]) == pytest.approx(0.5)
    assert re.fullmatch(r"p50 \d+ (s|min|h).*\np90 \d+ (s|min|h).*", after["first-response"])
    assert re.search(r"\d+(\.\d)?%", after["automation-rate"])

    routes_after = await _table(page, "route")
    assert routes_after["faq"] - routes_before.get("faq", 0) == 3
    assert routes_after["llm"] - routes_before.get("llm", 0) == 1
    status_rows = await page.locator('table[data-table="status"] th').all_inner_texts()
    assert "Handed to a person" in status_rows

    days_after = await _days(page)
    assert len(days_after) == 14
    day = three_days_ago.date().isoformat()
    auto_before, total_before = days_before[day]
    auto_after, total_after = days_after[day]
    assert (auto_after - auto_before, total_after - total_before) == (1, 2)
    today = now.date().isoformat()
    assert days_after[today][0] - days_before[today][0] == 4
    # The chart draws the same days, one bar group each, with an accessible name.
    chart = page.get_by_role("img", name="Last 14 days")
    assert await chart.locator("g[data-day]").count() == 14
    assert await chart.locator(f'g[data-day="{day}"] rect.bar-automated').count() == 1
    # Email text (a subject with a script tag) is never on this page, let alone run.
    assert "<script>alert(" not in await page.content()
    await console.screenshot(page, "today-en")
    assert page.problems == []


async def test_today_on_a_phone(browser: Any, console: Any) -> None:
    context = await browser.new_context(
        base_url=console.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        extra_http_headers={"Accept-Language": "en"},
    )
    try:
        page = await context.new_page()
        await console.sign_in(page)
        assert await page.get_by_role("heading", name="Today", level=1).is_visible()
        # Nothing wider than the screen: no sideways scrolling.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        await console.screenshot(page, "today-phone")
    finally:
        await context.close()


async def test_the_provider_panel_is_live(page: Any, console: Any, eventually_fn: Any) -> None:
    name = f"groq-{uuid.uuid4().hex[:6]}"
    await console.sign_in(page)
    panel = page.locator("#providers")
    await console.publish_provider_state(
        provider=name,
        breaker_state="closed",
        consecutive_failures=0,
        requests_in_window=3,
        tokens_in_window=900,
        request_limit=8,
    )
    provider = panel.locator(f'[data-provider="{name}"]')

    async def shows(text: str) -> bool:
        return text in await provider.inner_text() if await provider.count() else False

    # No reload: htmx swaps the fragment in every ADMIN_CONSOLE_REFRESH_S (1 s here).
    await eventually_fn(lambda: shows("3 of 8 requests in the window"), timeout_s=15)
    assert await shows("closed (working)")
    open_until = datetime.now(UTC) + timedelta(minutes=2)
    await console.publish_provider_state(
        provider=name,
        breaker_state="open",
        open_until=open_until,
        consecutive_failures=3,
        requests_in_window=8,
        tokens_in_window=2400,
        request_limit=8,
        next_free_at=open_until,
    )
    await eventually_fn(lambda: shows("open (paused)"), timeout_s=15)
    assert await shows("8 of 8 requests in the window")
    await console.screenshot(page, "today-provider-open")
    assert page.problems == []


async def test_an_ended_session_takes_the_live_page_to_sign_in(
    page: Any, context: Any, console: Any
) -> None:
    await console.sign_in(page)
    await context.clear_cookies()
    # The next poll of the provider panel is refused; htmx sends the whole page to sign-in,
    # to come back to this page (not to the fragment) afterwards.
    await page.wait_for_url(f"{console.url}/console/sign-in", timeout=15_000)
    assert await page.get_by_role("heading", name="Sign in").is_visible()
