"""Blocking IMAP adapter on imap-tools: one connection, one folder, UIDs only.

Every method blocks; the worker runs them on the mailbox's own thread. Nothing here
touches ``\\Seen`` unless asked to: messages are fetched with ``BODY.PEEK[]``.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

from mailroom_ingest.settings import MailboxConfig, Security

__all__ = [
    "FetchedMail",
    "ImapSession",
    "LoginFailed",
    "make_ssl_context",
    "parse_fetch_response",
    "parse_search_response",
]

_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_NEW_MAIL = re.compile(rb"^\* \d+ (?:EXISTS|RECENT)\b")
# How often an IDLE wait looks at the stop flag; bounds shutdown time.
_IDLE_TICK_S = 0.5


class LoginFailed(Exception):
    """The server refused the credentials; retrying will not help."""

    def __init__(self, mailbox: str, server_says: str) -> None:
        super().__init__(server_says)
        self.mailbox = mailbox
        self.server_says = server_says


@dataclass(frozen=True, slots=True)
class FetchedMail:
    uid: int
    raw: bytes
    internaldate: datetime | None


class _LineReader:
    """Replaces imaplib's buffered socket file so that buffered bytes stay visible.

    imaplib reads through ``sock.makefile('rb')``, whose private buffer may already hold
    an ``EXISTS`` the server sent together with ``+ idling``; ``select`` on the socket
    would never report it. Reading through our own buffer lets IDLE use plain socket
    timeouts, and a timeout in the middle of a line loses nothing.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def _fill(self) -> bool:
        data = self._sock.recv(256 * 1024)
        if not data:
            return False
        self._buf += data
        return True

    def readline(self, limit: int = -1) -> bytes:
        while True:
            end = self._buf.find(b"\n")
            if end >= 0 or (0 < limit <= len(self._buf)):
                cut = end + 1 if end >= 0 else limit
                if 0 < limit < cut:
                    cut = limit
                line = bytes(self._buf[:cut])
                del self._buf[:cut]
                return line
            if not self._fill():
                line = bytes(self._buf)
                self._buf.clear()
                return line

    def read(self, size: int) -> bytes:
        while len(self._buf) < size:
            if not self._fill():
                break
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def close(self) -> None:
        """imaplib closes the socket itself."""


def make_ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        # Only for local test servers with self-signed certificates.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def parse_search_response(data: list[Any], after: int) -> list[int]:
    """UIDs from a ``UID SEARCH`` answer, strictly above ``after``, ascending.

    ``UID SEARCH UID n:*`` always matches the highest UID even when ``n`` is beyond it
    (RFC 3501: ``*`` is the largest UID in use), so the filter is required.
    """
    uids: set[int] = set()
    for chunk in data:
        if isinstance(chunk, bytes):
            uids.update(int(tok) for tok in chunk.split() if tok.isdigit())
    return sorted(u for u in uids if u > after)


def _internaldate(header: bytes) -> datetime | None:
    match = _INTERNALDATE.search(header)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1).decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def parse_fetch_response(data: list[Any]) -> list[FetchedMail]:
    """Messages from a ``UID FETCH (UID INTERNALDATE BODY.PEEK[])`` answer.

    imaplib returns ``(header, literal)`` tuples followed by the rest of the line as
    bytes; the UID may be on either side of the literal. Untagged FETCH responses that
    carry no body (flag updates) are skipped.
    """
    mails: list[FetchedMail] = []
    i = 0
    while i < len(data):
        item = data[i]
        i += 1
        if not isinstance(item, tuple) or len(item) != 2:
            continue
        header, literal = item
        trailer = data[i] if i < len(data) and isinstance(data[i], bytes) else b""
        match = _UID.search(header) or _UID.search(trailer)
        if match is None or not isinstance(literal, bytes):
            continue
        mails.append(
            FetchedMail(
                uid=int(match.group(1)),
                raw=literal,
                internaldate=_internaldate(header) or _internaldate(trailer),
            )
        )
    return mails


def _check(result: tuple[str, list[Any]], what: str) -> list[Any]:
    typ, data = result
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {typ} {data!r}")
    return data


class ImapSession:
    """One logged-in connection with one selected folder."""

    def __init__(
        self, config: MailboxConfig, *, timeout_s: float, ssl_context: ssl.SSLContext
    ) -> None:
        self.config = config
        self._timeout_s = timeout_s
        self._ssl_context = ssl_context
        self._box: Any = None
        self.uidvalidity = 0
        self.capabilities: frozenset[str] = frozenset()

    @property
    def _client(self) -> imaplib.IMAP4:
        if self._box is None:
            raise ConnectionError("IMAP session is not open")
        client: imaplib.IMAP4 = self._box.client
        return client

    @property
    def supports_idle(self) -> bool:
        return "IDLE" in self.capabilities

    def open(self) -> None:
        """Connect, log in and select the folder read-write (for optional \\Seen)."""
        cfg = self.config
        if cfg.security is Security.SSL:
            box: Any = MailBox(
                cfg.host, cfg.port, timeout=self._timeout_s, ssl_context=self._ssl_context
            )
        elif cfg.security is Security.STARTTLS:
            box = MailBoxStartTls(
                cfg.host, cfg.port, timeout=self._timeout_s, ssl_context=self._ssl_context
            )
        else:
            box = MailBoxUnencrypted(cfg.host, cfg.port, timeout=self._timeout_s)
        self._box = box
        client = box.client
        client.file = _LineReader(client.sock)
        try:
            box.login(cfg.user, cfg.password.get_secret_value(), initial_folder=None)
        except MailboxLoginError as exc:
            self.close()
            raise LoginFailed(cfg.name, _server_text(exc)) from None
        caps = _check(client.capability(), "CAPABILITY")
        self.capabilities = frozenset(
            tok.upper()
            for tok in b" ".join(c for c in caps if isinstance(c, bytes))
            .decode("ascii", "replace")
            .split()
        )
        box.folder.set(cfg.folder)
        values = client.untagged_responses.get("UIDVALIDITY") or []
        if not values:
            status = box.folder.status(cfg.folder, ["UIDVALIDITY"])
            self.uidvalidity = int(status["UIDVALIDITY"])
        else:
            self.uidvalidity = int(values[-1])

    def new_uids(self, after: int) -> list[int]:
        data = _check(self._client.uid("SEARCH", f"UID {after + 1}:*"), "UID SEARCH")
        return parse_search_response(data, after)

    def fetch(self, uids: list[int]) -> list[FetchedMail]:
        if not uids:
            return []
        uid_set = ",".join(str(u) for u in uids)
        data = _check(
            self._client.uid("FETCH", uid_set, "(UID INTERNALDATE BODY.PEEK[])"), "UID FETCH"
        )
        wanted = set(uids)
        return sorted((m for m in parse_fetch_response(data) if m.uid in wanted), key=_uid_of)

    def mark_seen(self, uids: list[int]) -> None:
        if uids:
            uid_set = ",".join(str(u) for u in uids)
            _check(self._client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Seen)"), "STORE")

    def find_uid(
        self, uid: int | None, uidvalidity: int | None, message_id: str | None
    ) -> int | None:
        """The message's UID in the selected folder: ``uid`` while the folder's UIDVALIDITY
        is still ``uidvalidity``, else looked up by its Message-ID (None: not there)."""
        if uid is not None and uidvalidity == self.uidvalidity:
            return uid
        if not message_id or any(ch in message_id for ch in '"\\\r\n'):
            return None
        _check(self._client.noop(), "NOOP")  # let the session see mail that came since
        data = _check(
            self._client.uid("SEARCH", "HEADER", "Message-ID", f'"{message_id}"'), "UID SEARCH"
        )
        found = parse_search_response(data, 0)
        return found[-1] if found else None

    def flag_for_person(self, uid: int, keyword: str, copy_to: str | None = None) -> bool:
        """Flag the message (``\\Flagged`` and ``keyword``), make it unseen, optionally copy it.

        False when the server has no such message. A session sees only the messages that
        existed when it selected the folder, or that a later command announced: a UID STORE
        on a newer one answers OK and changes nothing. So NOOP first, and the STORE is not
        silent: its FETCH answer proves the message was flagged.
        """
        client = self._client
        _check(client.noop(), "NOOP")
        data = _check(client.uid("STORE", str(uid), "+FLAGS", f"(\\Flagged {keyword})"), "STORE")
        if not any(item for item in data):
            return False
        _check(client.uid("STORE", str(uid), "-FLAGS.SILENT", r"(\Seen)"), "STORE")
        if copy_to:
            _check(client.uid("COPY", str(uid), _quoted(copy_to)), "UID COPY")
        return True

    def noop(self) -> None:
        _check(self._client.noop(), "NOOP")

    def idle_wait(self, timeout_s: float, stop: threading.Event) -> bool:
        """Sit in IDLE until new mail, ``timeout_s`` or ``stop``; True on new mail.

        The caller re-issues IDLE after each return, so ``timeout_s`` (at most 29 min)
        is the renewal period RFC 2177 asks for.
        """
        client: Any = self._client
        # Mail that arrived while we were searching or fetching was announced then ("* n
        # EXISTS" during another command); imaplib keeps such lines aside and the server will
        # not repeat them in IDLE. Seen here, it means: sync again before idling.
        pending = [client.untagged_responses.pop(k, None) for k in ("EXISTS", "RECENT")]
        if any(pending):
            return True
        tag = client._command("IDLE")
        new_mail = False
        while True:  # until "+ idling"; a tagged answer means IDLE was refused
            resp = client._get_response()
            if client.tagged_commands.get(tag):
                typ, data = client.tagged_commands.pop(tag)
                raise imaplib.IMAP4.error(f"IDLE refused: {typ} {data!r}")
            if resp is None:
                break
            new_mail = new_mail or bool(_NEW_MAIL.match(resp))
        sock = client.sock
        deadline = time.monotonic() + timeout_s
        try:
            while not new_mail and not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(min(_IDLE_TICK_S, left))
                try:
                    line = client._get_line()
                except TimeoutError:
                    continue
                if line.startswith(b"* BYE"):
                    raise ConnectionError(f"server closed the IDLE session: {line!r}")
                new_mail = bool(_NEW_MAIL.match(line))
        finally:
            sock.settimeout(self._timeout_s)
        client.send(b"DONE\r\n")
        while not client.tagged_commands.get(tag):
            client._get_response()
        typ, data = client.tagged_commands.pop(tag)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"IDLE ended with {typ} {data!r}")
        return new_mail

    def close(self) -> None:
        """Log out politely; on a dead connection just drop the socket."""
        box, self._box = self._box, None
        if box is None:
            return
        try:
            box.client.sock.settimeout(5)
            box.client.logout()
        except Exception:  # the connection may already be gone; nothing to save
            with contextlib.suppress(Exception):  # best effort on a broken socket
                box.client.shutdown()


def _quoted(folder: str) -> str:
    escaped = folder.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _uid_of(mail: FetchedMail) -> int:
    return mail.uid


def _server_text(exc: MailboxLoginError) -> str:
    """The server's own words (e.g. Gmail's "Application-specific password required")."""
    result = getattr(exc, "command_result", None)
    if isinstance(result, tuple) and len(result) > 1:
        parts = result[1] if isinstance(result[1], list) else [result[1]]
        text = b" ".join(p for p in parts if isinstance(p, bytes)).decode("utf-8", "replace")
        if text:
            return text
    return str(exc)
