"""The mailbox's Sent folder as the SMTP server's record of what went out (crash rule).

After a crash between "the server accepted it" and "the ledger says sent", the only way
to learn whether a message left is to look for its deterministic Message-ID where sent
mail is filed: Gmail files every message accepted over SMTP in "[Gmail]/Sent Mail" by
itself; with a plain SMTP server mailroom files it like a mail client does, by APPENDing
the message to the IMAP "Sent" folder after the server accepted it
(``SENDER_SAVE_SENT_TO_IMAP``). imap-tools is blocking, so calls run in a thread.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from imap_tools import H, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags
from imap_tools.query import AND

__all__ = ["SentFolder", "SentFolderConfig"]


@dataclass(frozen=True, slots=True)
class SentFolderConfig:
    host: str
    port: int
    security: str  # "tls" | "starttls" | "plain"
    username: str
    password: str
    folder: str
    verify_tls: bool
    timeout_s: float


class SentFolder:
    def __init__(self, config: SentFolderConfig) -> None:
        self._cfg = config

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if not self._cfg.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _open(self) -> MailBox | MailBoxStartTls | MailBoxUnencrypted:
        cfg = self._cfg
        box: MailBox | MailBoxStartTls | MailBoxUnencrypted
        if cfg.security == "tls":
            box = MailBox(cfg.host, cfg.port, timeout=cfg.timeout_s, ssl_context=self._ssl())
        elif cfg.security == "starttls":
            box = MailBoxStartTls(
                cfg.host, cfg.port, timeout=cfg.timeout_s, ssl_context=self._ssl()
            )
        else:
            box = MailBoxUnencrypted(cfg.host, cfg.port, timeout=cfg.timeout_s)
        box.login(cfg.username, cfg.password, initial_folder=None)
        if not box.folder.exists(cfg.folder):
            box.folder.create(cfg.folder)
        box.folder.set(cfg.folder)
        return box

    def _contains(self, message_id: str) -> bool:
        with self._open() as box:
            return bool(box.uids(AND(header=H("Message-ID", message_id))))

    def _append(self, raw: bytes) -> None:
        with self._open() as box:
            box.append(
                raw, self._cfg.folder, dt=datetime.now(UTC), flag_set=[MailMessageFlags.SEEN]
            )

    async def contains(self, message_id: str) -> bool:
        """True if a message with this Message-ID is in the Sent folder."""
        return await asyncio.to_thread(self._contains, message_id)

    async def append(self, raw: bytes) -> None:
        await asyncio.to_thread(self._append, raw)
