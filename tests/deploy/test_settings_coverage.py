"""Every settings variable of every service is set in compose and in Kubernetes.

The settings classes are discovered, not listed: every ``BaseSettings`` subclass defined in
a service's package (and the shared ones in ``mailroom_common.config``, which every service
loads). A new field therefore fails here until the deployments set it, or until it is added,
with its reason, to one of the allowlists below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mailroom_common.config import KafkaSettings
from mailroom_devstack.envdoc import (
    Variable,
    common_classes,
    reference,
    settings_classes,
    variables_of,
)

# Optional fields deliberately left unset, so the code's default (None: "not configured")
# applies. An empty string would not mean None to pydantic. Each entry says why.
UNSET_EVERYWHERE = {
    "INGEST_MAILBOXES": "one mailbox via INGEST_IMAP_*; the JSON list is for several",
    "INGEST_MAILBOX_NAME": "defaults to the login, which is the label we want",
    "INGEST_TLS_CA_FILE": "the mail servers use public CAs (compose: plain IMAP)",
    "SENDER_REPLY_TO": "replies go to the From address",
    "SENDER_SENT_CHECK_USER": "defaults to the SMTP login",
    "SENDER_SENT_CHECK_PASSWORD": "defaults to the SMTP password",
    "SENDER_MAILBOX_NAME": "defaults to the IMAP login, as INGEST_MAILBOX_NAME does",
    "RESPONDER_FAQ_PATH": "the FAQ packaged with the responder",
    "RESPONDER_ROUTE_MODEL_PATH": "the router model packaged with the responder",
    "RESPONDER_REPLY_GATE_PATH": "the reply-gate rules packaged with the responder",
    "RESPONDER_RATE_LIMIT_TOKENS": "the provider's rate-limit headers decide",
    "ADMIN_CONSOLE_SECRET": "console sessions are signed with a key derived from ADMIN_API_TOKEN; "
    "set it to sign every session out without changing the token",
}
UNSET_IN_COMPOSE = {
    "KAFKA_SASL_MECHANISM": "the development broker is PLAINTEXT",
    "KAFKA_SASL_USERNAME": "the development broker is PLAINTEXT",
    "KAFKA_SASL_PASSWORD": "the development broker is PLAINTEXT",
    "KAFKA_SSL_CAFILE": "the development broker is PLAINTEXT",
    "SENDER_SMTP_USER": "Mailpit needs no login",
    "SENDER_SMTP_PASSWORD": "Mailpit needs no login",
    "SENDER_INSTANCE_ID": "one sender: static membership buys nothing",
}
UNSET_IN_K8S = {
    "GROQ_BASE_URL": "the real Groq API, the client's default",
    "ADMIN_TRACING_UI_BASE_URL": "depends on the cluster's tracing UI; set it in an overlay",
}
# What each one-shot job loads (it is no service package).
JOB_SETTINGS = {"migrate": ("DatabaseSettings",)}


def service_variables(package: str) -> list[Variable]:
    own = settings_classes(package)
    assert own, f"{package} defines no BaseSettings subclass"
    return variables_of(common_classes() + own)


def job_variables(job: str) -> list[Variable]:
    wanted = JOB_SETTINGS[job]
    return variables_of([c for c in common_classes() if c.__name__ in wanted])


def missing(variables: list[Variable], env: set[str], exempt: dict[str, str]) -> list[str]:
    return [
        f"{v.names[0]} ({v.owner})"
        for v in variables
        if not env.intersection(v.names) and v.names[0] not in exempt
    ]


# ------------------------------------------------------------------ the allowlists stay honest
def test_allowlisted_variables_exist_and_are_optional(h: Any) -> None:
    everything = [v for pkg in h.services.values() for v in service_variables(pkg)]
    by_name = {v.names[0]: v for v in everything}
    for name in {**UNSET_EVERYWHERE, **UNSET_IN_COMPOSE, **UNSET_IN_K8S}:
        assert name in by_name, f"allowlist entry {name} is no settings variable any more"
        assert not by_name[name].required, f"{name} is required: it cannot be left unset"


def test_settings_discovery_finds_each_service_and_the_common_classes(h: Any) -> None:
    names = {c.__name__ for c in common_classes()}
    assert {"KafkaSettings", "DatabaseSettings", "CommonSettings"} <= names
    for package in h.services.values():
        assert settings_classes(package)


# ------------------------------------------------------------------ compose
@pytest.mark.parametrize("service", ["ingest", "responder", "sender", "admin-api"])
def test_compose_sets_every_settings_variable(
    h: Any, compose: dict[str, Any], service: str
) -> None:
    env = set(h.compose_environment(compose["services"][service]))
    gaps = missing(service_variables(h.services[service]), env, UNSET_EVERYWHERE | UNSET_IN_COMPOSE)
    assert not gaps, f"compose service {service} does not set: {gaps}"


def test_compose_migrate_job_sets_its_settings(h: Any, compose: dict[str, Any]) -> None:
    env = set(h.compose_environment(compose["services"]["migrate"]))
    gaps = missing(job_variables("migrate"), env, {})
    # The topic step reads KafkaSettings too.
    gaps += missing(variables_of([KafkaSettings]), env, UNSET_IN_COMPOSE)
    assert not gaps, f"compose service migrate does not set: {gaps}"


# ------------------------------------------------------------------ kubernetes
def container_env(
    h: Any, resources: list[dict[str, Any]], pod_spec: dict[str, Any]
) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(plain variables with values, secret-sourced variables -> (secret, key))."""
    config_maps = h.by_kind(resources, "ConfigMap")
    (container,) = pod_spec["containers"]
    plain: dict[str, str] = {}
    from_secret: dict[str, tuple[str, str]] = {}
    for source in container.get("envFrom", []):
        assert "secretRef" not in source, "whole-Secret envFrom leaks every key to every pod"
        cm = config_maps[source["configMapRef"]["name"]]
        plain.update(cm.get("data", {}))
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            from_secret[item["name"]] = (ref["name"], ref["key"])
        elif "value" in item or "fieldRef" in item.get("valueFrom", {}):
            plain[item["name"]] = item.get("value", "<fieldRef>")
        else:
            raise AssertionError(f"unsupported env source for {item['name']}")
    return plain, from_secret


def _secret_template_keys(h: Any) -> set[str]:
    template = yaml.safe_load((h.repo / "deploy/k8s/base/secret.template.yaml").read_text())
    assert template["kind"] == "Secret"
    assert all(v == "" for v in template["stringData"].values()), "the template holds values"
    return set(template["stringData"])


@pytest.mark.parametrize("overlay", ["dev", "prod"])
@pytest.mark.parametrize("service", ["ingest", "responder", "sender", "admin-api"])
def test_kubernetes_sets_every_settings_variable(
    h: Any, built_overlays: dict[str, list[dict[str, Any]]], overlay: str, service: str
) -> None:
    resources = built_overlays[overlay]
    deployment = h.by_kind(resources, "Deployment")[service]
    plain, from_secret = container_env(h, resources, deployment["spec"]["template"]["spec"])
    variables = service_variables(h.services[service])
    gaps = missing(variables, set(plain) | set(from_secret), UNSET_EVERYWHERE | UNSET_IN_K8S)
    assert not gaps, f"{overlay}: Deployment {service} does not set: {gaps}"

    # Secrets come from Secrets, never from a ConfigMap or a literal.
    for v in variables:
        for name in v.names:
            if v.secret and name in plain:
                pytest.fail(f"{name} is a secret but set in plain text for {service}")
    # Every mailroom-secrets key referenced exists in the documented template.
    keys = _secret_template_keys(h)
    for name, (secret, key) in from_secret.items():
        if secret == "mailroom-secrets":
            assert key in keys, f"{name}: key {key} missing from secret.template.yaml"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_kubernetes_migrate_job_sets_its_settings(
    h: Any, built_overlays: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    resources = built_overlays[overlay]
    job = h.by_kind(resources, "Job")["migrate"]
    plain, from_secret = container_env(h, resources, job["spec"]["template"]["spec"])
    gaps = missing(job_variables("migrate"), set(plain) | set(from_secret), {})
    assert not gaps, f"{overlay}: Job migrate does not set: {gaps}"


def test_secret_template_lists_exactly_the_secrets_in_use(
    h: Any, built_overlays: dict[str, list[dict[str, Any]]]
) -> None:
    used: set[str] = set()
    for resources in built_overlays.values():
        for kind in ("Deployment", "Job"):
            for workload in h.by_kind(resources, kind).values():
                _, from_secret = container_env(h, resources, workload["spec"]["template"]["spec"])
                used |= {
                    key for secret, key in from_secret.values() if secret == "mailroom-secrets"
                }
    assert used == _secret_template_keys(h)
    # The template is documentation: applying it would blank the real Secret.
    for resources in built_overlays.values():
        assert "mailroom-secrets" not in h.by_kind(resources, "Secret")


# ------------------------------------------------------------------ .env.example
def test_env_example_documents_every_variable() -> None:
    text = (Path(__file__).parents[2] / ".env.example").read_text(encoding="utf-8")
    block = text.split("# BEGIN REFERENCE\n", 1)[1].split("# END REFERENCE", 1)[0]
    assert block == reference(), (
        ".env.example is out of date: regenerate its reference block with "
        "`.venv/bin/python -m mailroom_devstack.envdoc`"
    )
