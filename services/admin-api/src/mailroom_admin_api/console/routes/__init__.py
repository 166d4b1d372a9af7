"""The console's pages, one module per page; :data:`ROUTERS` is what the app includes.

Every route here is left out of the OpenAPI document (``include_in_schema=False``): the
console is HTML for people, ``/v1`` is the API.
"""

from __future__ import annotations

from fastapi import APIRouter

from mailroom_admin_api.console.routes import auth, dead_letters, drafts, mail, person, today

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    today.router,
    person.router,
    drafts.router,
    mail.router,
    dead_letters.router,
)
