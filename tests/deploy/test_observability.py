"""deploy/observability: the dashboard asks for metrics the services really export, and
Prometheus scrapes the ports the services really listen on."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

DASHBOARD = "deploy/observability/grafana/dashboards/mailroom-pipeline.json"
# Series the Kafka exporter (compose) and Strimzi's Kafka Exporter (Kubernetes) provide.
EXPORTER_METRICS = {"kafka_consumergroup_lag", "kafka_topic_partition_current_offset"}
PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "increase",
    "histogram_quantile",
    "le",
    "without",
    "topic",
}
SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def dashboard_metrics(h: Any) -> set[str]:
    dashboard = json.loads((h.repo / DASHBOARD).read_text())
    names: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = re.sub(r'\{[^}]*\}|"[^"]*"|\[[^]]*\]', "", target["expr"])
            names |= {
                word
                for word in re.findall(r"[a-z_][a-z0-9_]*", expr)
                if "_" in word and word not in PROMQL_WORDS
            }
    # Labels used in "by (...)" clauses are not metrics.
    return {n for n in names if n.startswith(("mailroom_", "responder_", "kafka_"))}


def exported_names(h: Any) -> set[str]:
    """Metric names declared in the services' code, in Prometheus form."""
    names: set[str] = set()
    for path in h.repo.glob("services/*/src/**/*.py"):
        text = path.read_text()
        # prometheus_client: Counter("mailroom_x", ...), Histogram("mailroom_y", ...)
        names |= set(re.findall(r'(?:Counter|Histogram|Gauge|Summary)\(\s*"([a-z0-9_]+)"', text))
        # OpenTelemetry: meter.create_counter("responder.llm.calls", ...); Prometheus's OTLP
        # receiver turns dots into underscores.
        names |= {
            n.replace(".", "_") for n in re.findall(r'create_[a-z_]+\(\s*"([a-z0-9_.]+)"', text)
        }
    return names


def test_dashboard_is_valid_and_stable(h: Any) -> None:
    dashboard = json.loads((h.repo / DASHBOARD).read_text())
    assert dashboard["uid"] == "mailroom-pipeline"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("outcome", "latency", "breaker", "limiter", "dead letter", "lag"):
        assert topic in titles, f"the dashboard has no panel about {topic}"


def test_dashboard_queries_only_exported_metrics(h: Any) -> None:
    exported = exported_names(h)
    assert exported, "no metric declarations found in services/"
    for metric in sorted(dashboard_metrics(h)):
        if metric in EXPORTER_METRICS:
            continue
        base = next((metric[: -len(s)] for s in SUFFIXES if metric.endswith(s)), metric)
        assert base in exported, f"dashboard queries {metric}, which no service exports"


def test_prometheus_scrapes_the_ports_compose_configures(h: Any, compose: dict[str, Any]) -> None:
    config = yaml.safe_load((h.repo / "deploy/observability/prometheus/prometheus.yml").read_text())
    targets = {
        job["job_name"]: target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    ports = {
        "ingest": "INGEST_HEALTH_PORT",
        "sender": "SENDER_HEALTH_PORT",
        "admin-api": "ADMIN_PORT",
    }
    for service, variable in ports.items():
        env = h.compose_environment(compose["services"][service])
        assert targets[service] == f"{service}:{env[variable]}"
    assert targets["kafka-exporter"].split(":")[0] in compose["services"]
    command = compose["services"]["prometheus"]["command"]
    assert "--web.enable-otlp-receiver" in command  # the responder's OTel metrics land here


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_scrape_annotations_point_at_the_container_port(
    built_overlays: dict[str, list[dict[str, Any]]], h: Any, overlay: str
) -> None:
    for name, deployment in h.by_kind(built_overlays[overlay], "Deployment").items():
        template = deployment["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        (container,) = template["spec"]["containers"]
        (port,) = container["ports"]
        assert annotations["prometheus.io/port"] == str(port["containerPort"]), name
        probe_port = container["livenessProbe"]["httpGet"]["port"]
        assert probe_port == port["name"], name
