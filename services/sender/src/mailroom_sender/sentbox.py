"""The mailbox's Sent folder as the SMTP server's record of what went out (crash rule).

After a crash between "the server accepted it" and "the ledger says sent", the only way
to learn whether a message left is to look for its deterministic Message-ID where sent
mail is filed: Gmail files every message accepted over SMTP in "[Gmail]/Sent Mail" by
itself; with a plain SMTP server mailroom files it like a mail client does, by APPENDing
the message to the IMAP Sent folder after the server accepted it
(``SENDER_SAVE_SENT_TO_IMAP``). The folder is the one the server marks ``\\Sent`` unless
``SENDER_SENT_CHECK_FOLDER`` names it (see :mod:`mailroom_sender.mailbox`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .mailbox import Mailbox, MailboxConfig

__all__ = ["SentFolder", "SentFolderConfig"]


@dataclass(frozen=True, slots=True)
class SentFolderConfig:
    host: str
    port: int
    security: str  # "tls" | "starttls" | "plain"
    username: str
    password: str
    folder: str  # "" = the folder marked \Sent (else "Sent")
    verify_tls: bool
    timeout_s: float


class SentFolder:
    def __init__(self, config: SentFolderConfig | Mailbox) -> None:
        if isinstance(config, Mailbox):
            self.mailbox = config
        else:
            self.mailbox = Mailbox(
                MailboxConfig(
                    host=config.host,
                    port=config.port,
                    security=config.security,
                    username=config.username,
                    password=config.password,
                    verify_tls=config.verify_tls,
                    timeout_s=config.timeout_s,
                    sent_folder=config.folder,
                )
            )

    async def contains(self, message_id: str) -> bool:
        """True if a message with this Message-ID is in the Sent folder."""
        return await self.mailbox.contains("sent", message_id)

    async def append(self, raw: bytes) -> None:
        await self.mailbox.append("sent", raw)
