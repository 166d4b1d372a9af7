"""The shop's mailbox over IMAP: its Sent folder (crash rule, Sent watcher) and its Drafts.

One account (``SENDER_SENT_CHECK_HOST``/``_PORT``/``_SECURITY``/``_USER``/``_PASSWORD``,
the SMTP login by default). The two folders are found by their SPECIAL-USE attributes
(``folders.py``) once per process, unless a setting names them; a missing one is created.
imap-tools is blocking, so every call runs in a thread on a connection of its own (a
login per call: drafts and the watcher's polls are few, and nothing is left half-open).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from imap_tools import AND, OR, H, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags, U

from mailroom_common.logging import get_logger

from .folders import DRAFTS, SENT, choose_folder

__all__ = ["Mailbox", "MailboxConfig", "Role", "SentHeaders", "SentScan"]

log = get_logger(__name__)

Role = Literal["sent", "drafts"]
_ATTRIBUTE: dict[Role, str] = {"sent": SENT, "drafts": DRAFTS}


@dataclass(frozen=True, slots=True)
class MailboxConfig:
    host: str
    port: int
    security: str  # "tls" | "starttls" | "plain"
    username: str
    password: str
    verify_tls: bool
    timeout_s: float
    sent_folder: str = ""  # "" = the folder marked \Sent, else "Sent"
    drafts_folder: str = ""  # "" = the folder marked \Drafts, else "Drafts"


@dataclass(frozen=True, slots=True)
class SentHeaders:
    """What the Sent watcher needs of one message in the Sent folder."""

    uid: int
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...] = ()  # the References header's <…> ids, oldest first


@dataclass(frozen=True, slots=True)
class SentScan:
    uidvalidity: int
    last_uid: int
    messages: list[SentHeaders]
    folder: str = ""  # the Sent folder's name


def _first(value: Any) -> str | None:
    if isinstance(value, tuple | list):
        value = value[0] if value else None
    return str(value).strip() or None if value is not None else None


_MSGID = re.compile(r"<[^<>\s]+>")


def _references(value: Any) -> tuple[str, ...]:
    """The ``<…>`` ids of the References header, in order: split on whitespace (folded
    lines too), ids run together (``<a@b><c@d>``) apart, anything else left out."""
    values = value if isinstance(value, tuple | list) else () if value is None else (value,)
    return tuple(_MSGID.findall(" ".join(str(v) for v in values)))


class Mailbox:
    def __init__(self, config: MailboxConfig) -> None:
        self._cfg = config
        self._names: dict[Role, str] = {}
        self._lock = threading.Lock()

    @property
    def username(self) -> str:
        """The IMAP login (ingest's default label of the same mailbox)."""
        return self._cfg.username

    # --- connections and folders ----------------------------------------------------------
    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if not self._cfg.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect(self) -> MailBox | MailBoxStartTls | MailBoxUnencrypted:
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
        return box

    def _folder(self, box: Any, role: Role) -> str:
        with self._lock:
            name = self._names.get(role)
            if name is not None:
                return name
            override = self._cfg.sent_folder if role == "sent" else self._cfg.drafts_folder
            listing = [(f.name, tuple(f.flags)) for f in box.folder.list()]
            choice = choose_folder(listing, _ATTRIBUTE[role], override)
            if not choice.exists:
                box.folder.create(choice.name)
            log.info("mailbox.folder", role=role, folder=choice.name, found_by=choice.how)
            self._names[role] = choice.name
            return choice.name

    @contextlib.contextmanager
    def _session(self, role: Role) -> Iterator[tuple[Any, str]]:
        with self._connect() as box:
            folder = self._folder(box, role)
            box.folder.set(folder)
            yield box, folder

    # --- blocking operations ----------------------------------------------------------------
    def _uids(self, box: Any, message_id: str) -> list[str]:
        return list(box.uids(AND(header=H("Message-ID", message_id))))

    def _contains(self, role: Role, message_id: str) -> bool:
        with self._session(role) as (box, _):
            return bool(self._uids(box, message_id))

    def _append(self, role: Role, raw: bytes, flags: Sequence[str]) -> str:
        with self._session(role) as (box, folder):
            box.append(raw, folder, dt=datetime.now(UTC), flag_set=list(flags))
            return folder

    def _delete(self, role: Role, message_id: str) -> int:
        with self._session(role) as (box, _):
            uids = self._uids(box, message_id)
            if not uids:
                return 0
            box.client.uid("STORE", ",".join(uids), "+FLAGS", r"(\Deleted)")
            capabilities = str(box.client.capability()[1])
            if "UIDPLUS" in capabilities.upper():
                # Only our messages: a plain EXPUNGE would take whatever else is \Deleted.
                box.client.uid("EXPUNGE", ",".join(uids))
            else:
                box.expunge()
            return len(uids)

    def _sent_matching(self, message_id: str, in_reply_to: str | None) -> list[SentHeaders]:
        with self._session("sent") as (box, _):
            criteria: Any = H("Message-ID", message_id)
            if in_reply_to:
                criteria = OR(header=[H("Message-ID", message_id), H("In-Reply-To", in_reply_to)])
            uids = list(box.uids(criteria))
            if not uids:
                return []
            return [
                self._headers(msg)
                for msg in box.fetch(
                    AND(uid=",".join(uids)), headers_only=True, mark_seen=False, bulk=True
                )
            ]

    @staticmethod
    def _headers(msg: Any) -> SentHeaders:
        headers: Any = msg.headers  # LazyHeaders: lower-case names → values
        return SentHeaders(
            int(msg.uid or 0),
            _first(headers.get("message-id")),
            _first(headers.get("in-reply-to")),
            _references(headers.get("references")),
        )

    def _scan_sent(self, uidvalidity: int | None, after_uid: int, since: date) -> SentScan:
        with self._connect() as box:
            folder = self._folder(box, "sent")
            validity = int(box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])
            box.folder.set(folder)
            fresh = validity != uidvalidity or after_uid <= 0
            criteria = AND(date_gte=since) if fresh else AND(uid=U(str(after_uid + 1), "*"))
            found: list[SentHeaders] = []
            last = 0 if fresh else after_uid
            for msg in box.fetch(criteria, headers_only=True, mark_seen=False, bulk=True):
                uid = int(msg.uid or 0)
                if not fresh and uid <= after_uid:
                    continue  # "N:*" always names the newest message, even below N
                found.append(self._headers(msg))
                last = max(last, uid)
            return SentScan(validity, last, found, folder)

    # --- the async API ----------------------------------------------------------------------
    async def contains(self, role: Role, message_id: str) -> bool:
        """True if a message with this Message-ID is in the folder."""
        return await asyncio.to_thread(self._contains, role, message_id)

    async def append(self, role: Role, raw: bytes, *, draft: bool = False) -> str:
        """File ``raw`` (seen; a draft also ``\\Draft``); returns the folder's name."""
        flags = [MailMessageFlags.SEEN] + ([MailMessageFlags.DRAFT] if draft else [])
        return await asyncio.to_thread(self._append, role, raw, flags)

    async def delete(self, role: Role, message_id: str) -> int:
        """Remove the messages with this Message-ID from the folder; how many there were."""
        return await asyncio.to_thread(self._delete, role, message_id)

    async def sent_matching(self, message_id: str, in_reply_to: str | None) -> list[SentHeaders]:
        """Messages in Sent with this Message-ID, or answering ``in_reply_to``."""
        return await asyncio.to_thread(self._sent_matching, message_id, in_reply_to)

    async def scan_sent(self, uidvalidity: int | None, after_uid: int, since: date) -> SentScan:
        """Messages in Sent after ``after_uid``, or since ``since`` on a fresh start or a new
        UIDVALIDITY; the scan's UIDVALIDITY and last UID are the next call's position."""
        return await asyncio.to_thread(self._scan_sent, uidvalidity, after_uid, since)

    async def folder(self, role: Role) -> str:
        def resolve() -> str:
            with self._connect() as box:
                return self._folder(box, role)

        if role in self._names:
            return self._names[role]
        return await asyncio.to_thread(resolve)
