"""Configuration of the admin API, read from ``ADMIN_*`` environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mailroom_common.config import (
    CommonSettings,
    DatabaseSettings,
    KafkaSettings,
    load_settings,
)

__all__ = ["AdminSettings", "ServiceSettings", "load_service_settings"]


def _split_csv(value: object) -> object:
    # Operators write lists as "a,b"; a JSON list would work too but is easy to mistype.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class AdminSettings(BaseSettings):
    """Settings of the admin API itself."""

    model_config = SettingsConfigDict(env_prefix="ADMIN_", extra="ignore")

    api_token: SecretStr = Field(
        min_length=16,
        description="Bearer token every /v1 request must carry; at least 16 characters.",
    )
    host: str = Field(default="127.0.0.1", description="Address uvicorn listens on.")
    port: int = Field(default=28000, ge=1, le=65535, description="Port uvicorn listens on.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins allowed by CORS; empty turns CORS off.",
    )
    tracing_ui_base_url: str | None = Field(
        default=None,
        description="Base URL of the tracing UI (Jaeger), e.g. http://127.0.0.1:16686; "
        "task details link to {base}/trace/{trace_id}.",
    )
    transactional_templates: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["order_confirmation"],
        description="Comma-separated template names POST /v1/transactional accepts.",
    )
    readiness_timeout_s: float = Field(
        default=2.0, gt=0, le=30, description="How long /readyz waits for each dependency."
    )
    bulk_reprocess_limit: int = Field(
        default=500, ge=1, le=10_000, description="Most dead letters one bulk call republishes."
    )
    reprocess_stuck_after_s: float = Field(
        default=900.0,
        ge=0,
        description=(
            "A task in received, processing or retrying may be reprocessed once its status "
            "has not changed for this long (dead letters at any time)."
        ),
    )

    console_session_hours: float = Field(
        default=12.0,
        gt=0,
        le=720,
        description="How long a console sign-in lasts; then the operator signs in again.",
    )
    console_secret: SecretStr | None = Field(
        default=None,
        description="Server secret mixed with ADMIN_API_TOKEN into the key that signs console "
        "sessions and CSRF tokens; changing it (or the token) signs every session out.",
    )
    console_secure_cookies: bool = Field(
        default=False,
        description="Mark console cookies Secure even on plain HTTP (behind a TLS-terminating "
        "proxy); HTTPS requests get Secure cookies anyway.",
    )
    console_chart_cache_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="Seconds the Today chart keeps the figures of the days before today "
        "(today's are always live; 0 reads them every time).",
    )
    console_refresh_s: int = Field(
        default=5,
        ge=1,
        le=300,
        description="Seconds between refreshes of the console's live parts (the LLM "
        "provider's breaker and limiter).",
    )

    _split_lists = field_validator("cors_origins", "transactional_templates", mode="before")(
        _split_csv
    )

    @field_validator("console_secret", mode="before")
    @classmethod
    def _blank_secret_is_none(cls, value: object) -> object:
        # Compose passes an unset variable as "": that means "no extra secret".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("tracing_ui_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Everything the admin API is configured with, built once in the entrypoint."""

    admin: AdminSettings
    kafka: KafkaSettings
    database: DatabaseSettings
    common: CommonSettings


def load_service_settings() -> ServiceSettings:
    """Read every settings class from the environment; raises ``SettingsError``."""
    return ServiceSettings(
        admin=load_settings(AdminSettings),
        kafka=load_settings(KafkaSettings),
        database=load_settings(DatabaseSettings),
        common=load_settings(CommonSettings),
    )
