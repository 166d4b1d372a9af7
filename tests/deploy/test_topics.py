"""Kafka topics and users in the manifests match the topic registry and the ownership table."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mailroom_common.topics import REGISTRY

REGISTRY_BY_NAME = {spec.name: spec for spec in REGISTRY}
# The responder's Faust app id: its changelog and assignor topics start with it.
FAUST_PREFIX = "mailroom-responder"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_kafka_topics_match_the_registry_exactly(
    built_overlays: dict[str, list[dict[str, Any]]], h: Any, overlay: str
) -> None:
    topics = h.by_kind(built_overlays[overlay], "KafkaTopic")
    manifest = {
        t["spec"].get("topicName", name): (
            t["spec"]["partitions"],
            t["spec"]["config"]["cleanup.policy"],
            int(t["spec"]["config"]["retention.ms"]),
        )
        for name, t in topics.items()
    }
    registry = {s.name: (s.partitions, s.cleanup_policy, s.retention_ms) for s in REGISTRY}
    assert manifest == registry
    for topic in topics.values():
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "my-cluster"
        replicas = topic["spec"]["replicas"]
        assert 1 <= topic["spec"]["config"]["min.insync.replicas"] <= replicas


def ownership_table(h: Any) -> dict[str, dict[str, set[str]]]:
    """service -> {"reads": topics, "writes": topics} from docs/architecture.md."""
    text = (h.repo / "docs/architecture.md").read_text()
    section = text.split("## Services and what each owns", 1)[1].split("\n## ", 1)[0]
    table: dict[str, dict[str, set[str]]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] not in h.services:
            continue
        table[cells[0]] = {
            column: set(re.findall(r"`(mail\.[a-z.-]+)`", cells[index]))
            for column, index in (("reads", 2), ("writes", 3))
        }
    assert set(table) == set(h.services), "ownership table not found in docs/architecture.md"
    return table


def allowed(acls: list[dict[str, Any]], topic: str, operation: str) -> bool:
    for acl in acls:
        resource = acl["resource"]
        if resource["type"] != "topic" or operation not in acl["operations"]:
            continue
        if resource.get("patternType", "literal") == "literal" and resource["name"] == topic:
            return True
        if resource.get("patternType") == "prefix" and topic.startswith(resource["name"]):
            return True
    return False


def test_kafka_users_grant_what_the_ownership_table_says(
    built_overlays: dict[str, list[dict[str, Any]]], h: Any
) -> None:
    users = h.by_kind(built_overlays["prod"], "KafkaUser")
    assert set(users) == {f"mailroom-{s}" for s in h.services}
    for service, columns in ownership_table(h).items():
        acls = users[f"mailroom-{service}"]["spec"]["authorization"]["acls"]
        for topic in columns["reads"]:
            assert allowed(acls, topic, "Read"), f"{service} cannot read {topic}"
        for topic in columns["writes"]:
            assert allowed(acls, topic, "Write"), f"{service} cannot write {topic}"
        # And nothing beyond the table (plus the responder's own retry/LLM/Faust topics).
        for acl in acls:
            resource = acl["resource"]
            if resource["type"] != "topic":
                continue
            if resource.get("patternType") == "prefix":
                assert service == "responder", f"{service} has a prefix ACL"
                assert resource["name"] == FAUST_PREFIX or any(
                    name.startswith(resource["name"]) for name in REGISTRY_BY_NAME
                ), resource
                continue
            assert resource["name"] in REGISTRY_BY_NAME, f"ACL on unknown topic {resource}"
            if "Write" in acl["operations"] and service != "responder":
                assert resource["name"] in columns["writes"], f"{service}: {resource}"


def test_every_consumer_group_has_an_acl(
    built_overlays: dict[str, list[dict[str, Any]]], h: Any
) -> None:
    resources = built_overlays["prod"]
    users = h.by_kind(resources, "KafkaUser")
    config_maps = h.by_kind(resources, "ConfigMap")
    groups = {
        "responder": [
            next(v for k, v in config_maps.items() if k.startswith("mailroom-responder"))["data"][
                "RESPONDER_APP_ID"
            ]
        ],
        "sender": [
            next(v for k, v in config_maps.items() if k.startswith("mailroom-sender"))["data"][key]
            for key in ("SENDER_GROUP_ID", "SENDER_PROJECTOR_GROUP_ID", "SENDER_DRAFTS_GROUP_ID")
        ],
    }
    for service, names in groups.items():
        acls = users[f"mailroom-{service}"]["spec"]["authorization"]["acls"]
        for group in names:
            assert any(
                acl["resource"]["type"] == "group"
                and "Read" in acl["operations"]
                and (
                    acl["resource"]["name"] == group
                    or (
                        acl["resource"].get("patternType") == "prefix"
                        and group.startswith(acl["resource"]["name"])
                    )
                )
                for acl in acls
            ), f"{service} has no Read ACL on group {group}"
