"""Responder configuration: ``RESPONDER_*`` for the service, ``GROQ_*`` for the provider.

Built once in the entrypoint (never at import) and passed down. Every delay and threshold
is a setting so tests can run the whole retry/breaker/limiter life cycle in seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["GroqSettings", "ResponderSettings"]


class ResponderSettings(BaseSettings):
    """How the responder routes, retries, limits and replies."""

    model_config = SettingsConfigDict(env_prefix="RESPONDER_", extra="ignore")

    app_id: str = Field(
        default="mailroom-responder",
        description="Faust app id: consumer group and prefix of its changelog topics.",
    )
    web_host: str = Field(default="127.0.0.1", description="Bind address of /healthz and /readyz.")
    web_port: int = Field(default=6066, ge=1, le=65535, description="Port of /healthz and /readyz.")
    web_enabled: bool = Field(
        default=True, description="Serve /healthz, /readyz and Faust's web views."
    )
    session_timeout_s: float = Field(
        default=10.0, ge=6.0, description="Kafka group session timeout; failover takes this long."
    )
    heartbeat_interval_s: float = Field(
        default=2.0, gt=0, description="Kafka group heartbeat interval (< session timeout / 3)."
    )
    commit_interval_s: float = Field(default=1.0, gt=0, description="Offset commit interval.")
    stall_reseek_s: float = Field(
        default=30.0,
        ge=0,
        description=(
            "A mail.inbound (or retry/LLM) partition with records waiting that has not moved "
            "for this long is sought back to its committed offset; 0 turns the watchdog off."
        ),
    )
    provider: str = Field(default="groq", description="Key of LLM calls on mail.llm-requests.")
    faq_path: Path | None = Field(
        default=None, description="FAQ/templates YAML; default is the packaged faq.yaml."
    )
    reply_gate_path: Path | None = Field(
        default=None,
        description="Reply-gate rules YAML (promises, leaks, policy terms); default is the"
        " packaged reply_gate.yaml.",
    )
    route_model_path: Path | None = Field(
        default=None,
        description="The router's trained model (python -m mailroom_responder.decision.train);"
        " default is the packaged route_model.json.",
    )
    catalogue_refresh_s: float = Field(
        default=60.0, gt=0, description="How often the catalogue cache reloads from PostgreSQL."
    )
    owners_refresh_s: float = Field(
        default=5.0,
        gt=0,
        description="How often the index of threads a person owns reads changes from PostgreSQL.",
    )
    catalogue_load_timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="A catalogue load taking longer than this counts as failed and is retried.",
    )
    catalogue_retry_initial_s: float = Field(
        default=1.0,
        gt=0,
        description=(
            "Wait before retrying a failed first catalogue load; doubles after each failure. "
            "No mail is decided until the first load succeeds."
        ),
    )
    catalogue_retry_max_s: float = Field(
        default=30.0, gt=0, description="Longest wait between retries of the first catalogue load."
    )
    handoff_ack_enabled: bool = Field(
        default=True, description="Send a short acknowledgement when a person takes over."
    )
    holding_reply_enabled: bool = Field(
        default=True,
        description=(
            "Send one holding reply when an email's LLM answer is held back longer than "
            "RESPONDER_HOLDING_AFTER_S, or when it is dead-lettered."
        ),
    )
    holding_after_s: float = Field(
        default=600.0,
        gt=0,
        description=(
            "An email whose LLM answer has waited this long since it reached mail.inbound "
            "(breaker open, rate-limit backlog, retries) gets one holding reply; the answer "
            "follows when the provider is back."
        ),
    )
    max_attempts: int = Field(
        default=5, ge=1, description="Failed LLM attempts before the email is dead-lettered."
    )
    retry_delays_s: list[float] = Field(
        default=[30.0, 60.0, 120.0, 120.0],
        description="Delay before retry n (JSON list); the last one repeats.",
    )
    breaker_failure_threshold: int = Field(
        default=3, ge=1, description="Consecutive failures that open the breaker."
    )
    breaker_cooldown_s: float = Field(
        default=120.0, gt=0, description="How long the breaker stays open before one probe."
    )
    breaker_probe_timeout_s: float = Field(
        default=60.0, gt=0, description="A probe older than this (its worker died) is redone."
    )
    rate_limit_requests: int = Field(
        default=8, ge=1, description="Requests allowed per window, cluster-wide."
    )
    rate_limit_window_s: float = Field(default=60.0, gt=0, description="Limiter window.")
    rate_limit_tokens: int | None = Field(
        default=None, ge=1, description="Tokens allowed per window (unset: headers only)."
    )
    rate_limit_margin_s: float = Field(
        default=0.5,
        ge=0,
        description="Extra wait so our window never closes before the provider's does.",
    )
    rate_limit_default_backoff_s: float = Field(
        default=60.0, gt=0, description="Wait after a 429 that carries no timing headers."
    )
    hold_check_s: float = Field(
        default=0.25, gt=0, description="While waiting for the provider, re-check this often."
    )
    history_flush_s: float = Field(
        default=1.0, gt=0, description="How often queued turns are written to PostgreSQL."
    )
    history_turns: int = Field(
        default=3, ge=0, description="Turns (customer and shop) kept per thread for the prompt."
    )
    excerpt_max_chars: int = Field(default=2000, ge=200, description="Catalogue excerpt size.")
    reply_max_chars: int = Field(default=1200, ge=100, description="Longest reply sent.")
    price_input_per_token_usd: float = Field(
        default=0.59e-6, ge=0, description="Estimated cost of one prompt token."
    )
    price_output_per_token_usd: float = Field(
        default=0.79e-6, ge=0, description="Estimated cost of one completion token."
    )
    # The classifier: one structured-output call to a cheap model for unsure decisions.
    classifier_enabled: bool = Field(
        default=True,
        description="Ask the classifier model about decisions below the threshold.",
    )
    classifier_model: str = Field(
        default="llama-3.1-8b-instant", description="Model of the classifier (Groq)."
    )
    classifier_threshold: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Router decisions with a confidence below this are asked; 0 asks none.",
    )
    classifier_timeout_s: float = Field(
        default=4.0,
        gt=0,
        description="Whole wait for a classification, from the email's arrival at that step.",
    )
    classifier_response_format: Literal["json_object", "json_schema"] = Field(
        default="json_object",
        description=(
            "Groq response_format of the classifier call: JSON mode with the schema in the "
            "prompt (every model), or json_schema (only models with structured outputs)."
        ),
    )
    classifier_max_tokens: int = Field(
        default=120, ge=16, description="Completion token cap of a classification."
    )
    classifier_rate_limit_requests: int = Field(
        default=30, ge=1, description="Classifier requests per window, cluster-wide."
    )
    classifier_rate_limit_window_s: float = Field(
        default=60.0, gt=0, description="Classifier limiter window."
    )
    classifier_breaker_failure_threshold: int = Field(
        default=3, ge=1, description="Consecutive classifier failures that open its breaker."
    )
    classifier_breaker_cooldown_s: float = Field(
        default=120.0, gt=0, description="How long the classifier's breaker stays open."
    )
    classifier_breaker_probe_timeout_s: float = Field(
        default=60.0, gt=0, description="A classifier probe older than this is redone."
    )

    @model_validator(mode="after")
    def _catalogue_backoff_ordered(self) -> ResponderSettings:
        if self.catalogue_retry_max_s < self.catalogue_retry_initial_s:
            raise ValueError("catalogue_retry_max_s must be >= catalogue_retry_initial_s")
        return self

    @field_validator("retry_delays_s")
    @classmethod
    def _delays_positive(cls, value: list[float]) -> list[float]:
        if not value or any(d <= 0 for d in value):
            raise ValueError("needs at least one delay, all > 0")
        return value


class GroqSettings(BaseSettings):
    """The LLM provider (official groq client); legacy names GROQ_API_KEY/GROQ_MODEL_NAME."""

    model_config = SettingsConfigDict(env_prefix="GROQ_", extra="ignore", populate_by_name=True)

    api_key: SecretStr = Field(description="Groq API key.")
    base_url: str | None = Field(
        default=None, description="API base URL; tests use the offline LLM at :28080."
    )
    model_name: str = Field(
        default="llama-3.3-70b-versatile",
        validation_alias=AliasChoices("GROQ_MODEL_NAME", "GROQ_MODEL"),
        description="Chat model.",
    )
    timeout_s: float = Field(default=20.0, gt=0, description="Per-request timeout.")
    max_tokens: int = Field(default=150, ge=1, description="Completion token cap.")
