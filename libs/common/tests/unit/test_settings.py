from __future__ import annotations

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mailroom_common.config import (
    DatabaseSettings,
    KafkaSettings,
    SettingsError,
    load_settings,
)
from mailroom_common.topics import INBOUND


class _Demo(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")

    host: str = Field(description="host")
    password: SecretStr = Field(description="secret")
    port: int = Field(default=1, ge=1)


def test_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_HOST", raising=False)
    monkeypatch.setenv("DEMO_PASSWORD", "x")
    with pytest.raises(SettingsError, match="DEMO_HOST is missing"):
        load_settings(_Demo)


def test_invalid_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_HOST", "h")
    monkeypatch.setenv("DEMO_PASSWORD", "x")
    monkeypatch.setenv("DEMO_PORT", "zero")
    with pytest.raises(SettingsError, match="DEMO_PORT"):
        load_settings(_Demo)


def test_secret_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_HOST", "h")
    monkeypatch.setenv("DEMO_PASSWORD", "hunter2")
    settings = load_settings(_Demo)
    assert "hunter2" not in repr(settings)
    assert settings.password.get_secret_value() == "hunter2"


def test_defaults_point_at_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_TOPIC_PREFIX", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    kafka = load_settings(KafkaSettings)
    assert kafka.bootstrap_servers == "127.0.0.1:29092"
    assert kafka.topic(INBOUND) == "mail.inbound"
    assert "25432" in load_settings(DatabaseSettings).url.get_secret_value()


def test_topic_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "t1.")
    assert load_settings(KafkaSettings).topic(INBOUND) == "t1.mail.inbound"
