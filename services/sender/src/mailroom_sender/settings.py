"""The sender's own configuration (prefix ``SENDER_``), read only in the entrypoint."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mailroom_common.answer_modes import AnswerMode
from mailroom_common.config import CommonSettings, DatabaseSettings, KafkaSettings

__all__ = ["SenderSettings", "Settings"]

Security = Literal["tls", "starttls", "plain"]


class SenderSettings(BaseSettings):
    """SMTP, loop guards, retries and the Sent-folder check.

    Gmail: ``SENDER_SMTP_HOST=smtp.gmail.com``, ``SENDER_SMTP_PORT=465`` with
    ``SENDER_SMTP_SECURITY=tls`` (or 587 with ``starttls``), the account as user and an
    app password. The seed's ``EMAIL_SENDER``/``EMAIL_APP_PASSWORD`` still work.
    """

    model_config = SettingsConfigDict(env_prefix="SENDER_", extra="ignore", populate_by_name=True)

    # --- SMTP -------------------------------------------------------------------------
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server host name.")
    smtp_port: int = Field(default=21025, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Security = Field(
        default="plain",
        description="tls = implicit TLS (465), starttls = upgrade (587), plain = none.",
    )
    smtp_user: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SENDER_SMTP_USER", "EMAIL_SENDER"),
        description="SMTP login; EMAIL_SENDER is accepted too. Empty means no AUTH.",
    )
    smtp_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SENDER_SMTP_PASSWORD", "EMAIL_APP_PASSWORD"),
        description="SMTP password (Gmail: an app password); EMAIL_APP_PASSWORD too.",
    )
    smtp_tls_verify: bool = Field(
        default=True, description="Verify the server certificate (off only for local tests)."
    )
    smtp_connect_timeout_s: float = Field(
        default=15.0, gt=0, description="Seconds allowed to connect, greet and log in."
    )
    smtp_command_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds allowed for each SMTP command, DATA included."
    )
    smtp_reuse_connection: bool = Field(
        default=True, description="Keep each worker's SMTP connection open between messages."
    )
    smtp_max_messages_per_connection: int = Field(
        default=100, ge=1, description="Reconnect after this many messages (servers cap it)."
    )

    # --- Identity ---------------------------------------------------------------------
    from_address: str | None = Field(
        default=None,
        description=(
            "Envelope and From address; defaults to the SMTP user, then MAILROOM_SHOP_ADDRESS."
        ),
    )
    display_name: str | None = Field(
        default=None, description="From display name; defaults to MAILROOM_SHOP_NAME."
    )
    reply_to: str | None = Field(default=None, description="Optional Reply-To address.")

    # --- Answer modes (README "Rolling out") ----------------------------------------
    mode_faq: AnswerMode = Field(
        default=AnswerMode.AUTO,
        description="FAQ answers: auto = send, draft = file in Drafts for a person, off = a "
        "person answers.",
    )
    mode_catalogue: AnswerMode = Field(
        default=AnswerMode.AUTO,
        description="Catalogue answers (price, stock, product questions): auto, draft or off.",
    )
    mode_llm: AnswerMode = Field(
        default=AnswerMode.AUTO,
        description="LLM answers: auto, draft or off; holding replies go out only when auto.",
    )
    mode_handoff_ack: AnswerMode = Field(
        default=AnswerMode.AUTO,
        description="Acknowledgements of mail handed to a person: auto, draft or off.",
    )

    # --- Throughput -------------------------------------------------------------------
    concurrency: int = Field(
        default=4, ge=1, le=64, description="Parallel send workers, one SMTP connection each."
    )
    max_in_flight: int = Field(
        default=1000,
        ge=1,
        description=(
            "Unfinished records (queued, sending, waiting for a retry) before fetching pauses."
        ),
    )
    commit_interval_s: float = Field(
        default=0.5, gt=0, description="How often finished offsets are committed to Kafka."
    )

    # --- Retries ----------------------------------------------------------------------
    retry_base_s: float = Field(default=2.0, gt=0, description="First retry delay after a 4xx.")
    retry_max_s: float = Field(default=300.0, gt=0, description="Longest retry delay.")
    retry_jitter: float = Field(
        default=0.2, ge=0, le=1, description="Random share added to each retry delay."
    )
    max_attempts: int = Field(
        default=0,
        ge=0,
        description="Give up (dead letter) after this many 4xx attempts; 0 = never give up.",
    )

    # --- Loop guards ------------------------------------------------------------------
    max_replies_per_recipient: int = Field(
        default=3, ge=1, description="Automatic replies to one address within the window."
    )
    max_replies_per_thread: int = Field(
        default=3, ge=1, description="Automatic replies in one thread within the window."
    )
    guard_window_s: int = Field(
        default=24 * 3600, ge=60, description="Loop-guard window in seconds (default 24 h)."
    )

    # --- Crash rule: Sent-folder check ------------------------------------------------
    sent_check_enabled: bool = Field(
        default=False,
        description="Look a message left in 'sending' up in the IMAP Sent folder by Message-ID.",
    )
    sent_check_authoritative: bool = Field(
        default=False,
        description=(
            "The provider files every accepted message in Sent (Gmail): 'not found' then "
            "means not sent, so the message is sent again. Otherwise it becomes uncertain."
        ),
    )
    sent_check_host: str = Field(default="127.0.0.1", description="IMAP host of the Sent folder.")
    sent_check_port: int = Field(default=21993, ge=1, le=65535, description="IMAP port.")
    sent_check_security: Security = Field(
        default="tls", description="tls = IMAPS, starttls, or plain."
    )
    sent_check_user: str | None = Field(
        default=None, description="IMAP login (default: SMTP user)."
    )
    sent_check_password: SecretStr | None = Field(
        default=None, description="IMAP password (default: SMTP password)."
    )
    sent_check_folder: str = Field(
        default="",
        description=(
            "Sent folder name; empty = the folder the server marks \\Sent (Gmail's "
            "'[Gmail]/Sent Mail'), else 'Sent'."
        ),
    )
    drafts_folder: str = Field(
        default="",
        description=(
            "Drafts folder (answer mode draft), same IMAP account; empty = the folder the "
            "server marks \\Drafts (Gmail's '[Gmail]/Drafts'), else 'Drafts' (created)."
        ),
    )
    sent_check_tls_verify: bool = Field(default=True, description="Verify the IMAP certificate.")
    sent_check_timeout_s: float = Field(default=20.0, gt=0, description="IMAP socket timeout.")
    sent_watch_interval_s: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How often the Sent folder is read for drafts a person sent from their own mail "
            "client and for replies a person at the shop wrote (their threads become theirs)."
        ),
    )
    sent_watch_lookback_days: float = Field(
        default=2.0,
        ge=0,
        description=(
            "After a start or a new UIDVALIDITY the Sent watcher reads Sent from this many "
            "days ago (or from the day before the oldest pending draft, if earlier)."
        ),
    )
    mailbox_name: str | None = Field(
        default=None,
        description=(
            "Label of the mailbox in the mailbox actions the Sent watcher publishes, as "
            "ingest names it (INGEST_MAILBOX_NAME); defaults to the IMAP login, as ingest's does."
        ),
    )
    save_sent_to_imap: bool = Field(
        default=False,
        description="APPEND each accepted message to the Sent folder, as a mail client does.",
    )
    stale_sending_after_s: float = Field(
        default=300.0,
        ge=0,
        description=(
            "At start-up, rows in 'sending' older than this are resolved by the crash rule."
        ),
    )

    # --- Redrive sweep (runs with the projector) ----------------------------------------
    redrive_enabled: bool = Field(
        default=True,
        description=(
            "Republish answerable emails left in 'received' (the responder never saw them)."
        ),
    )
    redrive_after_s: float = Field(
        default=300.0,
        ge=1,
        description=(
            "A task unchanged in 'received' for this long is republished; must exceed the "
            "time mail can wait in the responder's inbound backlog."
        ),
    )
    redrive_interval_s: float = Field(
        default=60.0, gt=0, description="How often the redrive sweep looks for stuck tasks."
    )
    redrive_max: int = Field(
        default=3,
        ge=0,
        description="Republishes per task before the sweep gives up and raises an alert.",
    )
    redrive_batch: int = Field(
        default=100, ge=1, le=10_000, description="Tasks the sweep locks and handles at once."
    )

    # --- Operations -------------------------------------------------------------------
    health_port: int = Field(
        default=8083, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics."
    )
    health_host: str = Field(
        default="127.0.0.1", description="Bind address of the health server (0.0.0.0 in pods)."
    )
    group_id: str = Field(default="mailroom-sender", description="Kafka group of the sender.")
    instance_id: str | None = Field(
        default=None,
        description=(
            "Kafka static membership id (e.g. the pod name): a restart keeps its partitions."
        ),
    )
    session_timeout_ms: int = Field(
        default=10_000, ge=6000, description="Kafka consumer session timeout."
    )
    projector_group_id: str = Field(
        default="mailroom-projector", description="Kafka group of the projector."
    )
    drafts_group_id: str = Field(
        default="mailroom-sender-drafts",
        description="Kafka group of the sender's reader of mail.draft-actions (approve, discard).",
    )


class Settings:
    """Everything the service reads from the environment, loaded once in the entrypoint."""

    def __init__(
        self,
        sender: SenderSettings,
        common: CommonSettings,
        kafka: KafkaSettings,
        database: DatabaseSettings,
    ) -> None:
        self.sender, self.common, self.kafka, self.database = sender, common, kafka, database
