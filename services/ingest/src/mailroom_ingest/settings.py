"""Ingest configuration, read from ``INGEST_*`` variables (and the seed's legacy names).

One mailbox is configured with ``INGEST_IMAP_*`` (or the seed guide's ``IMAP_SERVER``,
``EMAIL_SENDER``, ``EMAIL_APP_PASSWORD``); several with ``INGEST_MAILBOXES``, a JSON list
whose entries may leave out host, port and security to inherit the single-mailbox values.
"""

from __future__ import annotations

import enum

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["IngestSettings", "MailboxConfig", "MailboxEntry", "Security"]

# RFC 2177 asks clients to re-issue IDLE before the server's 30-minute inactivity timeout.
MAX_IDLE_RENEW_S = 29 * 60


class Security(enum.StrEnum):
    SSL = "ssl"  # implicit TLS, port 993 (Gmail)
    STARTTLS = "starttls"  # plain connect, then STARTTLS, port 143
    PLAIN = "plain"  # no TLS at all: only for a local test server


def default_port(security: Security) -> int:
    return 993 if security is Security.SSL else 143


class MailboxConfig(BaseModel):
    """One mailbox folder to read: a connection, credentials and a folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Label in events, logs and the checkpoint table.")
    host: str = Field(description="IMAP server host name.")
    port: int = Field(ge=1, le=65535, description="IMAP server port.")
    security: Security = Field(description="ssl, starttls or plain.")
    user: str = Field(description="Login name, usually the email address.")
    password: SecretStr = Field(description="Password; for Gmail an app password.")
    folder: str = Field(default="INBOX", description="Folder to read.")


class MailboxEntry(BaseModel):
    """One element of ``INGEST_MAILBOXES``; missing connection fields are inherited."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Security | None = None
    user: str
    password: SecretStr
    folder: str | None = None


class IngestSettings(BaseSettings):
    """Everything the ingest service reads from the environment (prefix ``INGEST_``)."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore", populate_by_name=True)

    imap_host: str = Field(
        default="imap.gmail.com",
        validation_alias=AliasChoices("INGEST_IMAP_HOST", "IMAP_SERVER"),
        description="IMAP host of the single mailbox (legacy name IMAP_SERVER).",
    )
    imap_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("INGEST_IMAP_PORT", "IMAP_PORT"),
        description="IMAP port; default 993 for ssl, 143 otherwise.",
    )
    imap_security: Security = Field(
        default=Security.SSL, description="ssl (implicit TLS), starttls or plain."
    )
    imap_user: str | None = Field(
        default=None,
        validation_alias=AliasChoices("INGEST_IMAP_USER", "EMAIL_SENDER"),
        description="Login of the single mailbox (legacy name EMAIL_SENDER).",
    )
    imap_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("INGEST_IMAP_PASSWORD", "EMAIL_APP_PASSWORD"),
        description="Password or Gmail app password (legacy name EMAIL_APP_PASSWORD).",
    )
    imap_folder: str = Field(default="INBOX", description="Folder of the single mailbox.")
    mailbox_name: str | None = Field(
        default=None, description="Label of the single mailbox; defaults to its login."
    )
    mailboxes: list[MailboxEntry] = Field(
        default_factory=list,
        description=(
            "JSON list of mailboxes [{name, host, port, security, user, password, folder}]; "
            "when set it replaces the single INGEST_IMAP_* mailbox."
        ),
    )
    tls_verify: bool = Field(
        default=True, description="Verify the server certificate (off only for test servers)."
    )
    tls_ca_file: str | None = Field(
        default=None, description="CA bundle for a private IMAP server certificate."
    )
    connect_timeout_s: float = Field(
        default=30.0, gt=0, description="Socket timeout for connecting and each IMAP command."
    )
    poll_interval_s: float = Field(
        default=60.0, gt=0, description="Seconds between checks when the server lacks IDLE."
    )
    idle_renew_s: float = Field(
        default=600.0,
        gt=0,
        le=MAX_IDLE_RENEW_S,
        description="Re-issue IDLE after this many seconds (at most 29 minutes).",
    )
    use_idle: bool = Field(
        default=True, description="Use IDLE when the server offers it; false forces polling."
    )
    fetch_batch: int = Field(
        default=100, ge=1, le=1000, description="Messages fetched and published per batch."
    )
    max_text_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Cap on the text kept per email (UTF-8 bytes); beyond it truncated=true.",
    )
    max_event_bytes: int = Field(
        default=900 * 1024,
        ge=16 * 1024,
        description="Cap on one encoded event; stays under Kafka's 1 MB record default.",
    )
    mark_seen_after_publish: bool = Field(
        default=False, description="Set \\Seen on a mail once Kafka acknowledged it."
    )
    own_addresses: list[str] = Field(
        default_factory=list,
        description="Extra addresses of the shop (JSON list); mail from them is ignored.",
    )
    backoff_base_s: float = Field(
        default=1.0, gt=0, description="First reconnect delay; doubles per attempt."
    )
    backoff_max_s: float = Field(default=300.0, gt=0, description="Longest reconnect delay.")
    handoff_keyword: str = Field(
        default="$MailroomHandoff",
        pattern=r"^[!#-'*+\-.0-9A-Z^-z|~$]{1,64}$",
        description="IMAP keyword set (with \\Flagged) on a mail a person must answer",
    )
    handoff_folder: str = Field(
        default="",
        description="Folder a mail a person must answer is also copied to; empty = none",
    )
    actions_group_id: str = Field(
        default="mailroom-ingest-actions",
        description="Consumer group of the worker that flags mail for a person",
    )
    health_host: str = Field(
        default="127.0.0.1", description="Address of the health endpoint (0.0.0.0 in pods)."
    )
    health_port: int = Field(
        default=8081, ge=0, le=65535, description="Port of /healthz, /readyz, /metrics; 0 = off."
    )

    @model_validator(mode="after")
    def _need_a_mailbox(self) -> IngestSettings:
        if not self.mailboxes and (not self.imap_user or self.imap_password is None):
            raise ValueError(
                "no mailbox configured: set INGEST_IMAP_USER and INGEST_IMAP_PASSWORD "
                "(or EMAIL_SENDER and EMAIL_APP_PASSWORD), or INGEST_MAILBOXES"
            )
        if self.backoff_max_s < self.backoff_base_s:
            raise ValueError("INGEST_BACKOFF_MAX_S must be at least INGEST_BACKOFF_BASE_S")
        self.mailbox_configs()  # validate the JSON entries now, not when a task starts
        return self

    def mailbox_configs(self) -> list[MailboxConfig]:
        """The mailboxes to read, each complete; names must be unique."""
        security = self.imap_security
        port = self.imap_port or default_port(security)
        if not self.mailboxes:
            assert self.imap_user is not None
            assert self.imap_password is not None
            return [
                MailboxConfig(
                    name=self.mailbox_name or self.imap_user,
                    host=self.imap_host,
                    port=port,
                    security=security,
                    user=self.imap_user,
                    password=self.imap_password,
                    folder=self.imap_folder,
                )
            ]
        configs: list[MailboxConfig] = []
        for entry in self.mailboxes:
            sec = entry.security or security
            folder = entry.folder or self.imap_folder
            default_name = entry.user if folder == "INBOX" else f"{entry.user}/{folder}"
            configs.append(
                MailboxConfig(
                    name=entry.name or default_name,
                    host=entry.host or self.imap_host,
                    port=entry.port or self.imap_port or default_port(sec),
                    security=sec,
                    user=entry.user,
                    password=entry.password,
                    folder=folder,
                )
            )
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise ValueError(f"INGEST_MAILBOXES names must be unique, got {names}")
        return configs
