"""Every /v1 route refuses requests without the right token, before touching anything.

The app here is never started (no lifespan): if any route reached a dependency that needs
the database or Kafka before checking the token, it would answer 503, not 401.
"""

import re

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr

from mailroom_admin_api.app import PUBLIC_PATHS, create_app
from mailroom_admin_api.settings import AdminSettings, ServiceSettings
from mailroom_common.config import CommonSettings, DatabaseSettings, KafkaSettings

TOKEN = "unit-test-token-0123456789abcdef"


def _settings() -> ServiceSettings:
    return ServiceSettings(
        admin=AdminSettings(api_token=SecretStr(TOKEN)),
        kafka=KafkaSettings(),
        database=DatabaseSettings(),
        common=CommonSettings(),
    )


APP = create_app(_settings())


def _routes() -> list[tuple[str, set[str]]]:
    # FastAPI keeps included routers nested; iter_route_contexts flattens them.
    return [(ctx.path or "", set(ctx.methods or ())) for ctx in iter_route_contexts(APP.routes)]


def _calls() -> list[tuple[str, str]]:
    calls = []
    for template, methods in _routes():
        if template.startswith("/v1"):
            path = re.sub(r"\{[^}]+\}", "3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11", template)
            calls.extend((method, path) for method in sorted(methods - {"HEAD"}))
    return calls


CALLS = _calls()


def test_route_list_is_complete() -> None:
    # Guards the parametrisation: a new /v1 route is picked up automatically, and nothing
    # outside /v1 is served without a token except the probes and the API description.
    assert len(CALLS) >= 9
    # The console (/console) signs in by session cookie instead: test_console.py.
    others = {
        path
        for path, _ in _routes()
        if not path.startswith("/v1") and path.split("/")[1:2] != ["console"]
    }
    assert others <= PUBLIC_PATHS


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        yield c


@pytest.mark.parametrize(("method", "path"), CALLS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token-wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
    ids=["none", "wrong", "basic", "longer"],
)
async def test_without_the_token_every_route_is_401(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> None:
    response = await client.request(method, path, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith('Bearer realm="mailroom-admin"')
    body = response.json()
    assert body["status"] == 401
    assert body["instance"] == path
    assert set(body) >= {"type", "title", "status", "detail", "instance"}


async def test_with_the_token_auth_passes_but_the_unstarted_app_is_unavailable(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/tasks", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


async def test_healthz_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"


async def test_metrics_are_exposed(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert 'mailroom_admin_http_requests_total{method="GET",route="/healthz",status="200"}' in (
        response.text
    )


def test_openapi_documents_auth_and_problems() -> None:
    spec = APP.openapi()
    assert "Problem" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if not path.startswith("/v1"):
                assert "security" not in op
                continue
            assert op["security"] == [{"HTTPBearer": []}], (method, path)
            problem = op["responses"]["401"]["content"]["application/problem+json"]
            assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
            if "422" in op["responses"]:
                assert "application/problem+json" in op["responses"]["422"]["content"]


def test_cors_only_when_configured() -> None:
    def has_cors(app: object) -> bool:
        return any(m.cls.__name__ == "CORSMiddleware" for m in app.user_middleware)  # type: ignore[attr-defined]

    assert not has_cors(APP)
    settings = _settings()
    admin = settings.admin.model_copy(update={"cors_origins": ["http://ops.test"]})
    with_cors = create_app(
        ServiceSettings(admin, settings.kafka, settings.database, settings.common)
    )
    assert has_cors(with_cors)
