"""deploy/k8s: every overlay builds, validates strictly against bundled schemas, and holds to
the production rules (non-root read-only pods, probes, limits, PDBs, bounded HPAs, network
policies, the same dashboards as compose)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from mailroom_common.topics import INBOUND, OUTBOUND

# The oldest Kubernetes minor we promise to run on; kubernetes-validate bundles its schemas.
KUBERNETES_VERSION = "1.30"
STRIMZI_KINDS = ("KafkaTopic", "KafkaUser")
WORKLOAD_KINDS = ("Deployment", "Job")


def strict_crd_schema(crd_path: Any) -> dict[str, Any]:
    """The CRD's openAPIV3Schema, with unknown fields rejected as the API server's strict
    field validation (kubectl apply --validate=strict) would."""
    crd = yaml.safe_load(crd_path.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta2"]
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])

    def tighten(node: Any) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node.setdefault("additionalProperties", False)
            for value in node.values():
                tighten(value)
        elif isinstance(node, list):
            for value in node:
                tighten(value)

    tighten(schema)
    return schema


def validate_resource(resource: dict[str, Any], crds: dict[str, Any]) -> list[str]:
    kind = resource["kind"]
    if kind in STRIMZI_KINDS:
        assert resource["apiVersion"] == "kafka.strimzi.io/v1beta2"
        schema = strict_crd_schema(crds[kind])
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in jsonschema.Draft7Validator(schema).iter_errors(resource)
        ]
    try:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        # It copies jsonschema's error: the path and message of the first violation.
        return [f"{'/'.join(map(str, exc.absolute_path))}: {exc.message}"]
    return []


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_validates_strictly(
    built_overlays: dict[str, list[dict[str, Any]]], deploy_tools: Any, overlay: str
) -> None:
    problems = {}
    for resource in built_overlays[overlay]:
        errors = validate_resource(resource, deploy_tools.strimzi_crds)
        if errors:
            problems[f"{resource['kind']}/{resource['metadata']['name']}"] = errors
    assert not problems, json.dumps(problems, indent=2)


def test_strict_validation_rejects_unknown_fields(
    built_overlays: dict[str, list[dict[str, Any]]], deploy_tools: Any, h: Any
) -> None:
    # Guards the test above: a misspelt field must fail in both validators.
    resources = built_overlays["prod"]
    deployment = copy.deepcopy(h.by_kind(resources, "Deployment")["sender"])
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert validate_resource(deployment, deploy_tools.strimzi_crds)
    topic = copy.deepcopy(next(r for r in resources if r["kind"] == "KafkaTopic"))
    topic["spec"]["partition"] = 3
    assert validate_resource(topic, deploy_tools.strimzi_crds)
    user = copy.deepcopy(next(r for r in resources if r["kind"] == "KafkaUser"))
    user["spec"]["authorization"]["acls"][0]["operation"] = "Fly"
    assert validate_resource(user, deploy_tools.strimzi_crds)


def test_secret_template_validates(h: Any) -> None:
    template = yaml.safe_load((h.repo / "deploy/k8s/base/secret.template.yaml").read_text())
    kubernetes_validate.validate(template, KUBERNETES_VERSION, strict=True)


def pod_specs(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{r['kind']}/{r['metadata']['name']}": r["spec"]["template"]["spec"]
        for r in resources
        if r["kind"] in WORKLOAD_KINDS
    }


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_pods_run_non_root_read_only_and_bounded(
    built_overlays: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    specs = pod_specs(built_overlays[overlay])
    assert set(specs) == {
        "Deployment/ingest",
        "Deployment/responder",
        "Deployment/sender",
        "Deployment/admin-api",
        "Job/migrate",
    }
    for name, spec in specs.items():
        pod_ctx = spec["securityContext"]
        assert pod_ctx["runAsNonRoot"] is True, name
        assert pod_ctx["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["serviceAccountName"] == name.split("/")[1], name
        tmp = {v["name"]: v for v in spec["volumes"]}["tmp"]
        assert "emptyDir" in tmp, name
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["runAsNonRoot"] is True, name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["capabilities"]["drop"] == ["ALL"], name
            assert ctx["seccompProfile"]["type"] == "RuntimeDefault", name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") == "tmp", name  # noqa: S108
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), name
            if name.startswith("Deployment/"):
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    assert probe in container, f"{name} lacks {probe}"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_deployment_has_a_pdb_and_names_match(
    built_overlays: dict[str, list[dict[str, Any]]], h: Any, overlay: str
) -> None:
    resources = built_overlays[overlay]
    deployments = h.by_kind(resources, "Deployment")
    pdbs = h.by_kind(resources, "PodDisruptionBudget")
    assert set(deployments) == set(h.services)
    assert set(pdbs) == set(deployments)
    for name, pdb in pdbs.items():
        selector = deployments[name]["spec"]["selector"]["matchLabels"]
        assert pdb["spec"]["selector"]["matchLabels"] == selector
        assert deployments[name]["spec"]["template"]["metadata"]["labels"].items() >= (
            selector.items()
        )
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["name"] == name
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["OTEL_SERVICE_NAME"] == name
    assert set(h.by_kind(resources, "ServiceAccount")) == {*h.services, "migrate"}
    assert set(h.by_kind(resources, "Service")) == {"admin-api"}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_hpas_are_bounded_by_partitions(
    built_overlays: dict[str, list[dict[str, Any]]], h: Any, overlay: str
) -> None:
    hpas = h.by_kind(built_overlays[overlay], "HorizontalPodAutoscaler")
    # A consumer group never uses more consumers than its topic has partitions.
    bounds = {"responder": INBOUND.partitions, "sender": OUTBOUND.partitions}
    assert set(hpas) == set(bounds)
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= bounds[name]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_network_policies_deny_by_default_and_allow_per_workload(
    built_overlays: dict[str, list[dict[str, Any]]], h: Any, overlay: str
) -> None:
    policies = h.by_kind(built_overlays[overlay], "NetworkPolicy")
    deny = policies.pop("deny-all")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert set(policies) == {*h.services, "migrate"}
    for name, policy in policies.items():
        assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": name}}
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
        assert {53, 5432} <= egress_ports, name
        if name != "migrate":
            assert 9093 in egress_ports, name


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_kafka_client_settings_match_the_strimzi_users(
    built_overlays: dict[str, list[dict[str, Any]]], h: Any, overlay: str
) -> None:
    resources = built_overlays[overlay]
    users = h.by_kind(resources, "KafkaUser")
    for name, deployment in h.by_kind(resources, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        username = env["KAFKA_SASL_USERNAME"]["value"]
        assert username in users, f"{name} logs in as {username}, which has no KafkaUser"
        ref = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": username, "key": "password"}
        auth = users[username]["spec"]["authentication"]["type"]
        common = next(
            cm["data"]
            for cm_name, cm in h.by_kind(resources, "ConfigMap").items()
            if cm_name.startswith("mailroom-common")
        )
        assert common["KAFKA_SASL_MECHANISM"].lower() == auth
        assert common["KAFKA_TOPIC_PREFIX"] == ""


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_dashboards_are_the_files_compose_mounts(
    built_overlays: dict[str, list[dict[str, Any]]], h: Any, overlay: str
) -> None:
    config_maps = h.by_kind(built_overlays[overlay], "ConfigMap")
    dashboards = config_maps["mailroom-grafana-dashboards"]
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
    folder = h.repo / "deploy/observability/grafana/dashboards"
    assert dashboards["data"] == {p.name: p.read_text() for p in folder.glob("*.json")}
    datasources = config_maps["mailroom-grafana-datasources"]
    assert datasources["metadata"]["labels"]["grafana_datasource"] == "1"
    source = h.repo / "deploy/observability/grafana/provisioning/datasources/mailroom.yaml"
    assert datasources["data"] == {"mailroom.yaml": source.read_text()}
