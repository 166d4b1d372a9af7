from __future__ import annotations

from mailroom_common.topics import REGISTRY, RETRY_TOPICS, retry_topic_for_delay


def test_registry_names_are_unique_and_required_topics_exist() -> None:
    names = [t.name for t in REGISTRY]
    assert len(names) == len(set(names))
    for required in (
        "mail.inbound",
        "mail.outbound",
        "mail.transactional",
        "mail.dead-letter",
        "mail.status",
        "mail.alerts",
    ):
        assert required in names
    assert all(t.partitions >= 1 for t in REGISTRY)


def test_retry_topic_for_delay() -> None:
    assert retry_topic_for_delay(1).name.endswith("30s")
    assert retry_topic_for_delay(45).name.endswith("60s")
    assert retry_topic_for_delay(120).name.endswith("120s")
    assert retry_topic_for_delay(900) is RETRY_TOPICS[-1][1]
