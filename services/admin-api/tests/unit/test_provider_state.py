from datetime import UTC, datetime, timedelta

from mailroom_admin_api.provider_state import ProviderStateStore
from mailroom_common.events import AlertEvent, ProviderStateEvent, encode_event

T0 = datetime(2026, 11, 27, 10, tzinfo=UTC)


def _state(provider: str, state: str, at: datetime, failures: int = 0) -> bytes:
    return encode_event(
        ProviderStateEvent(
            provider=provider,
            breaker_state=state,  # type: ignore[arg-type]
            consecutive_failures=failures,
            requests_in_window=1,
            tokens_in_window=10,
            request_limit=30,
            occurred_at=at,
        )
    )


def test_latest_snapshot_per_provider_wins() -> None:
    store = ProviderStateStore()
    store.apply("groq", _state("groq", "closed", T0))
    store.apply("other", _state("other", "closed", T0))
    store.apply("groq", _state("groq", "open", T0 + timedelta(seconds=5), failures=5))
    snap = {e.provider: e for e in store.snapshot()}
    assert [e.provider for e in store.snapshot()] == ["groq", "other"]
    assert snap["groq"].breaker_state == "open"
    assert snap["groq"].consecutive_failures == 5


def test_older_snapshot_does_not_replace_a_newer_one() -> None:
    store = ProviderStateStore()
    store.apply("groq", _state("groq", "half_open", T0 + timedelta(seconds=10)))
    store.apply("groq", _state("groq", "open", T0))
    assert store.snapshot()[0].breaker_state == "half_open"


def test_tombstone_removes_and_garbage_is_ignored() -> None:
    store = ProviderStateStore()
    store.apply("groq", _state("groq", "closed", T0))
    store.apply("groq", b"not json")
    store.apply("x", encode_event(AlertEvent(kind="k", message="m")))
    assert len(store.snapshot()) == 1
    store.apply("groq", None)
    assert store.snapshot() == []
