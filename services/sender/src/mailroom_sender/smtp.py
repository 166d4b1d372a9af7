"""SMTP transport: one reusable aiosmtplib connection and a clear verdict per message.

SMTP has no idempotency key, so what matters most is knowing *whether the server may
have accepted the message* when something goes wrong:

* refused before DATA or a 4xx/5xx reply to the message → the server did not take it
  (:class:`TransientSmtpError` / :class:`PermanentSmtpError`); retrying or dead-lettering
  is safe;
* the connection dropped or timed out while the message was being transferred →
  :class:`AmbiguousSmtpError`: it may have been accepted, so it must not be resent blindly.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import aiosmtplib

from mailroom_common.logging import get_logger

__all__ = [
    "AmbiguousSmtpError",
    "PermanentSmtpError",
    "SmtpConfig",
    "SmtpConnection",
    "SmtpError",
    "TransientSmtpError",
]

log = get_logger(__name__)


class SmtpError(Exception):
    def __init__(self, message: str, *, code: int | None = None, stage: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.stage = stage

    @property
    def reply(self) -> str:
        return f"{self.code} {self}" if self.code else str(self)


class TransientSmtpError(SmtpError):
    """Not accepted; try again later (4xx reply, refused or lost connection before DATA)."""


class PermanentSmtpError(SmtpError):
    """Rejected for good (5xx reply); the server's text says why."""


class AmbiguousSmtpError(SmtpError):
    """Lost while the message was in transfer: the server may or may not have it."""


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "tls" | "starttls" | "plain"
    username: str | None
    password: str | None
    verify_tls: bool
    connect_timeout_s: float
    command_timeout_s: float
    reuse: bool = True
    max_messages_per_connection: int = 100


def _classify_reply(exc: aiosmtplib.SMTPResponseException, stage: str) -> SmtpError:
    text = (exc.message or "").strip()
    if 400 <= exc.code < 500:
        return TransientSmtpError(text, code=exc.code, stage=stage)
    if 500 <= exc.code < 600:
        return PermanentSmtpError(text, code=exc.code, stage=stage)
    return TransientSmtpError(f"unexpected reply: {text}", code=exc.code, stage=stage)


class SmtpConnection:
    """One worker's SMTP session: connects lazily, reconnects after any failure."""

    def __init__(self, config: SmtpConfig) -> None:
        self._cfg = config
        self._client: aiosmtplib.SMTP | None = None
        self._sent_on_connection = 0
        self.connects = 0

    def _tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if not self._cfg.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    async def _connect(self) -> aiosmtplib.SMTP:
        cfg = self._cfg
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            use_tls=cfg.security == "tls",
            start_tls=cfg.security == "starttls",
            validate_certs=cfg.verify_tls,
            tls_context=self._tls_context() if cfg.security != "plain" else None,
            timeout=cfg.connect_timeout_s,
        )
        try:
            await client.connect()
            if cfg.username:
                await client.login(cfg.username, cfg.password or "")
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            # Even a 5xx greeting or login refusal concerns the server, not this message.
            raise TransientSmtpError(
                f"connect/login refused: {exc.message}", code=exc.code, stage="connect"
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise TransientSmtpError(f"cannot connect: {exc}", stage="connect") from exc
        self.connects += 1
        self._sent_on_connection = 0
        log.debug("smtp.connect", host=cfg.host, port=cfg.port, security=cfg.security)
        return client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit(timeout=2)
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    async def send(self, sender: str, recipient: str, message: bytes) -> str:
        """Deliver one message; return the server's acceptance reply or raise SmtpError."""
        cfg = self._cfg
        if self._client is not None and (
            not self._client.is_connected
            or self._sent_on_connection >= cfg.max_messages_per_connection
        ):
            await self.close()
        reused = self._client is not None
        if self._client is None:
            self._client = await self._connect()
        try:
            try:
                return await self._transaction(self._client, sender, recipient, message)
            except TransientSmtpError as exc:
                # An idle reused connection may have been dropped by the server; one fresh
                # connection is tried before calling it a failure (nothing was sent yet).
                if not (reused and exc.stage == "mail" and exc.code is None):
                    raise
                await self.close()
                self._client = await self._connect()
                return await self._transaction(self._client, sender, recipient, message)
        except SmtpError:
            await self.close()
            raise
        finally:
            if not cfg.reuse:
                await self.close()

    async def _transaction(
        self, client: aiosmtplib.SMTP, sender: str, recipient: str, message: bytes
    ) -> str:
        timeout = self._cfg.command_timeout_s
        stage = "mail"
        try:
            await client.mail(sender, timeout=timeout)
            stage = "rcpt"
            await client.rcpt(recipient, timeout=timeout)
            stage = "data"
            response = await client.data(message, timeout=timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0] if exc.recipients else None
            if first is None:
                raise TransientSmtpError("recipients refused", stage=stage) from exc
            raise _classify_reply(first, stage) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if stage != "data":
                # Reset the envelope so the connection stays usable for the next message.
                try:
                    await client.rset(timeout=timeout)
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
            raise _classify_reply(exc, stage) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            if stage == "data":
                raise AmbiguousSmtpError(
                    f"connection lost during DATA: {exc}", stage=stage
                ) from exc
            raise TransientSmtpError(f"connection lost: {exc}", stage=stage) from exc
        self._sent_on_connection += 1
        return f"{response.code} {response.message}"
