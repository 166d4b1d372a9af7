"""RFC 9457 problem details: every 4xx/5xx the API returns has this one shape."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from mailroom_common.logging import get_logger

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "Problem",
    "ProblemError",
    "install_problem_handlers",
    "problem_responses",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Relative type URIs: they resolve against the API's own base, and "about:blank" stays for
# errors that say nothing beyond their status code (RFC 9457 section 4.2.1).
TYPE_BASE = "/problems/"

log = get_logger(__name__)


class Problem(BaseModel):
    """An error response (RFC 9457)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/task-already-sent",
                    "title": "Task already sent",
                    "status": 409,
                    "detail": "The task was already sent; reprocessing would answer twice.",
                    "instance": "/v1/tasks/3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11/reprocess",
                }
            ]
        },
    )

    type: str = Field(default="about:blank", description="URI reference naming the problem kind.")
    title: str = Field(description="Short summary of the problem kind.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong in this occurrence.")
    instance: str | None = Field(default=None, description="The request path that failed.")


class ProblemError(Exception):
    """Raise from any layer to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = f"{TYPE_BASE}{kind}" if kind else "about:blank"
        self.headers = headers or {}
        self.extensions = extensions or {}


def problem_response(
    request: Request,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extensions or {})
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        exc.status,
        title=exc.title,
        detail=exc.detail,
        type_=exc.type,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        request, exc.status_code, detail=detail, headers=dict(exc.headers or {})
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem_response(
        request,
        422,
        title="Invalid request",
        detail=summary or "The request does not match the API's schema.",
        type_=f"{TYPE_BASE}validation",
        extensions={"errors": errors},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The operator gets a problem document; the cause goes to the log, not the client.
    log.error("error.unhandled", path=request.url.path, error=type(exc).__name__, exc_info=exc)
    return problem_response(
        request, 500, detail="An unexpected error occurred; see the service log."
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)


_DESCRIPTIONS = {
    400: "The request is malformed (for example an invalid cursor).",
    401: "Missing or wrong bearer token.",
    404: "No such resource.",
    409: "The resource's state does not allow the operation.",
    422: "The request does not match the schema.",
    503: "A dependency is unavailable.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem documents for ``statuses``."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, _phrase(status)),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
