"""docker-compose.yml: valid against the Compose Specification, healthy start order, one name
per service, configuration from .env, topics only from the registry."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest

MAILROOM = ("ingest", "responder", "sender", "admin-api")


def compose_spec_schema() -> dict[str, Any]:
    # check-jsonschema (PyPI, pinned in constraints.txt) vendors the Compose Specification's
    # own schema, with its licence, as a builtin schema.
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return schema


def test_compose_file_validates_against_the_compose_specification(
    compose: dict[str, Any],
) -> None:
    schema = compose_spec_schema()
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    errors = sorted(validator_cls(schema).iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    )


def test_schema_check_rejects_an_unknown_key(compose: dict[str, Any]) -> None:
    # Guards the test above: a misspelt key must fail, or the schema check proves nothing.
    broken = {**compose, "services": {**compose["services"], "ingest": {"imgae": "x"}}}
    schema = compose_spec_schema()
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))


def test_required_variables_are_in_env_example_and_enforced(
    h: Any, compose_raw: dict[str, Any], env_example: dict[str, str]
) -> None:
    text = (h.repo / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    assert {"ADMIN_API_TOKEN", "POSTGRES_PASSWORD"} <= required
    for name in sorted(required):
        assert env_example.get(name), f"{name} is required by compose but not in .env.example"
        without = {k: v for k, v in env_example.items() if k != name}
        with pytest.raises(h.MissingVariable):
            h.interpolate_tree(compose_raw, without)


def test_every_service_is_health_checked(h: Any, compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name == "migrate":
            continue  # one-shot: others wait for it to complete instead
        if "healthcheck" in service:
            assert not service["healthcheck"].get("disable"), name
            continue
        # Built images carry their own HEALTHCHECK.
        dockerfile = h.repo / service["build"]["dockerfile"]
        text = dockerfile.read_text().replace("\\\n", " ")
        assert re.search(r"^HEALTHCHECK .*CMD", text, re.M), name


def test_start_order_waits_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            want = "service_completed_successfully" if dep == "migrate" else "service_healthy"
            assert spec["condition"] == want, f"{name} -> {dep}"
    for name in MAILROOM:
        deps = services[name]["depends_on"]
        assert {"migrate", "kafka", "postgres"} <= set(deps), name


def test_one_name_per_service(h: Any, compose: dict[str, Any]) -> None:
    for name in (*MAILROOM, "migrate"):
        service = compose["services"][name]
        assert service["build"]["dockerfile"] == f"deploy/docker/{name}.Dockerfile"
        assert service["image"].startswith(f"mailroom/{name}:")
        assert h.compose_environment(service)["OTEL_SERVICE_NAME"] == name
    for name, package in h.services.items():
        assert (h.repo / "services" / name / "src" / package).is_dir()


def test_mailroom_containers_are_hardened(compose: dict[str, Any]) -> None:
    for name in (*MAILROOM, "migrate"):
        service = compose["services"][name]
        assert service["read_only"] is True, name
        assert service["user"] == "10001:10001", name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert any(t.startswith("/tmp:") for t in service["tmpfs"]), name  # noqa: S108


def test_published_ports_bind_to_loopback(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} publicly"


def test_topics_come_only_from_the_registry(h: Any, compose: dict[str, Any]) -> None:
    services = compose["services"]
    kafka_env = h.compose_environment(services["kafka"])
    # With auto-creation off, the only topics are the ones the migrate job creates.
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    command = " ".join(services["migrate"]["command"])
    assert "python -m mailroom_common.db.migrate upgrade head" in command
    # The topic step creates REGISTRY under KAFKA_TOPIC_PREFIX, which must be empty here so
    # the names are the registry's.
    assert "python -m mailroom_common create-topics" in command
    for name in (*MAILROOM, "migrate"):
        assert h.compose_environment(services[name])["KAFKA_TOPIC_PREFIX"] == "", name


def test_topic_job_module_exists() -> None:
    # The migrate job calls it; it must be importable from the image's packages.
    from mailroom_common.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["create-topics", "--help"])
    assert exc.value.code == 0


def test_offline_llm_is_a_profile_and_optional(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["llm"]["profiles"] == ["offline-llm"]
    dep = services["responder"]["depends_on"]["llm"]
    assert dep["required"] is False


def test_grafana_and_prometheus_use_the_shared_observability_files(
    h: Any, compose: dict[str, Any]
) -> None:
    mounts = [
        v.split(":")[0]
        for name in ("grafana", "prometheus")
        for v in compose["services"][name]["volumes"]
        if v.startswith("./")
    ]
    for mount in mounts:
        assert mount.startswith("./deploy/observability/"), mount
        assert (h.repo / mount).exists(), mount
    kustomization = (h.repo / "deploy/observability/kustomization.yaml").read_text()
    assert "grafana/dashboards/mailroom-pipeline.json" in kustomization
    assert "grafana/provisioning/datasources/mailroom.yaml" in kustomization
