"""Typed FastAPI dependencies: everything a route needs comes through these."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.auth import check_bearer
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.resources import Resources
from mailroom_admin_api.services.reprocess import Reprocessor
from mailroom_admin_api.settings import ServiceSettings
from mailroom_common.topics import INBOUND

__all__ = [
    "ReprocessorDep",
    "ResourcesDep",
    "SessionDep",
    "SettingsDep",
    "reject_unknown_query",
    "require_token",
]

# auto_error=False: a missing header must become our 401 problem, not FastAPI's 403.
_bearer_scheme = HTTPBearer(auto_error=False, description="The ADMIN_API_TOKEN value.")


def get_settings(request: Request) -> ServiceSettings:
    return cast(ServiceSettings, request.app.state.settings)


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]


def get_resources(request: Request) -> Resources:
    resources = getattr(request.app.state, "resources", None)
    if resources is None:
        raise ProblemError(503, "Starting", "The service has not finished starting.")
    return cast(Resources, resources)


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    async with resources.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_reprocessor(resources: ResourcesDep) -> Reprocessor:
    return Reprocessor(
        resources.producer,
        resources.settings.kafka.topic(INBOUND),
        resources.tracer,
        resources.metrics,
        stuck_after_s=resources.settings.admin.reprocess_stuck_after_s,
    )


ReprocessorDep = Annotated[Reprocessor, Depends(get_reprocessor)]


async def require_token(
    request: Request,
    settings: SettingsDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> None:
    # The raw header is checked (not the parsed credentials) so a malformed header gets
    # the same 401 problem as a wrong token.
    check_bearer(request.headers.get("authorization"), settings.admin.api_token)


def _declared_query_names(app: FastAPI) -> dict[tuple[str, str], frozenset[str]]:
    # Taken from the app's own OpenAPI document: the published contract is the authority.
    names: dict[tuple[str, str], frozenset[str]] = {}
    for path, operations in app.openapi().get("paths", {}).items():
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            names[(method.upper(), path)] = frozenset(
                p["name"] for p in params if p.get("in") == "query"
            )
    return names


async def reject_unknown_query(request: Request) -> None:
    """A 422 problem for query parameters the operation does not declare.

    A mistyped filter (``stauts=sent``) would otherwise be ignored silently and the
    operator would act on unfiltered rows.
    """
    app = request.app
    declared = getattr(app.state, "declared_query_names", None)
    if declared is None:
        declared = _declared_query_names(app)
        app.state.declared_query_names = declared
    route = request.scope.get("route")
    allowed = declared.get((request.method, str(getattr(route, "path", ""))))
    if allowed is None:
        return
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ProblemError(
            422,
            "Invalid request",
            f"Unknown query parameter(s): {', '.join(unknown)}; "
            f"this operation accepts: {', '.join(sorted(allowed)) or 'none'}.",
            kind="validation",
        )
