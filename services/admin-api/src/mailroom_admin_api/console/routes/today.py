"""Today, the landing page: the day's figures, the 14-day chart, the provider (live)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from mailroom_admin_api.console.pages import SignedInViewDep
from mailroom_admin_api.console.today import today_figures
from mailroom_admin_api.deps import ResourcesDep, SessionDep
from mailroom_admin_api.services.providers import providers_out

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/console")
async def today(view: SignedInViewDep, db: SessionDep, resources: ResourcesDep) -> HTMLResponse:
    figures = await today_figures(db, datetime.now(UTC), view.state.past_days)
    return view.render(
        "today.html",
        active="today",
        today=figures,
        providers=providers_out(resources.provider_state),
        now=figures.now,
    )


@router.get("/console/fragments/providers")
async def providers_fragment(view: SignedInViewDep, resources: ResourcesDep) -> HTMLResponse:
    """The provider panel alone; the Today page's htmx swaps it in every few seconds."""
    return view.render(
        "_providers.html", providers=providers_out(resources.provider_state), now=datetime.now(UTC)
    )
