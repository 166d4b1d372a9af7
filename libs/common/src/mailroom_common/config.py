"""Settings shared by every service, read from environment variables only.

Each part of the configuration is its own settings class with its own prefix
(``KAFKA_``, ``DATABASE_``, ``MAILROOM_``); each service adds a class with its own
prefix (``INGEST_``, ``RESPONDER_``, ``SENDER_``, ``ADMIN_``). Nothing is read at import
time: a service calls :func:`load_settings` in its entrypoint and passes the result down.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from mailroom_common.topics import TopicSpec

__all__ = [
    "CommonSettings",
    "DatabaseSettings",
    "KafkaSettings",
    "SettingsError",
    "load_settings",
]

S = TypeVar("S", bound=BaseSettings)


class SettingsError(RuntimeError):
    """Configuration is missing or invalid; the message names each variable."""


def _env_name(settings_cls: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    field = str(loc[0]) if loc else ""
    info = settings_cls.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, str):
        return info.validation_alias.upper()
    return f"{prefix}{field}".upper()


def load_settings(settings_cls: type[S]) -> S:
    """Build ``settings_cls`` from the environment or raise :class:`SettingsError`.

    The error lists every offending variable by its environment name, so an operator
    sees ``INGEST_IMAP_HOST is missing`` instead of a pydantic traceback.
    """
    try:
        return settings_cls()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = _env_name(settings_cls, tuple(err["loc"]))
            if err["type"] == "missing":
                problems.append(f"{name} is missing")
            else:
                problems.append(f"{name}: {err['msg']}")
        raise SettingsError(
            f"invalid configuration for {settings_cls.__name__}: " + "; ".join(problems)
        ) from None


class KafkaSettings(BaseSettings):
    """How every service reaches the Kafka cluster."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(
        default="127.0.0.1:29092", description="Comma-separated host:port list."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="SASL mechanism (e.g. SCRAM-SHA-512 for Strimzi users)."
    )
    sasl_username: str | None = Field(default=None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    ssl_cafile: str | None = Field(
        default=None, description="CA bundle that signed the brokers' certificates."
    )
    request_timeout_ms: int = Field(
        default=30_000, ge=1000, description="Client request timeout in milliseconds."
    )
    topic_prefix: str = Field(
        default="",
        description="Prepended to every topic name; tests use a unique one per test.",
    )

    def topic(self, spec: TopicSpec) -> str:
        """The real name of a registry topic under this configuration."""
        return self.topic_prefix + spec.name


class DatabaseSettings(BaseSettings):
    """PostgreSQL connection (asyncpg driver)."""

    model_config = SettingsConfigDict(env_prefix="DATABASE_", extra="ignore")

    url: SecretStr = Field(
        default=SecretStr("postgresql+asyncpg://mailroom:mailroom@127.0.0.1:25432/mailroom"),
        description="SQLAlchemy URL with the asyncpg driver; it holds the password.",
    )
    pool_size: int = Field(default=5, ge=1, le=100, description="Connections per process.")
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")


class CommonSettings(BaseSettings):
    """Shop-wide settings every service needs."""

    model_config = SettingsConfigDict(env_prefix="MAILROOM_", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        default="development", description="development, test or production."
    )
    log_format: Literal["console", "json"] = Field(
        default="console", description="json for machines, console (with emoji) for people."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="DEBUG, INFO, WARNING or ERROR."
    )
    shop_name: str = Field(default="Tienda Mailroom", description="The shop's name in replies.")
    shop_domain: str = Field(
        default="mailroom.test", description="Domain of the shop's Message-IDs and addresses."
    )
    shop_address: str = Field(
        default="shop@mailroom.test", description="The support mailbox's own address."
    )
    shadow: bool = Field(
        default=False,
        description="Shadow mode: decide and record everything, send and file nothing",
    )
    thread_quiet_days: float = Field(
        default=14.0,
        gt=0,
        description="A thread a person owns goes back to the bot after this many quiet days",
    )
