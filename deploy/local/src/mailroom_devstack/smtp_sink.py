"""SMTP sink for tests: accepts every message and stores it as an .eml file.

* One file per message in ``--dir``, written atomically (temp file + rename), named
  ``<counter>-<sanitized Message-ID>.eml``; the counter continues across restarts.
* ``<dir>/index.jsonl``: one JSON line per stored message (file, message_id, from, to,
  envelope, subject, in_reply_to, time, size).
* AUTH PLAIN/LOGIN is offered and accepts any credentials, without TLS. STARTTLS is offered only
  when ``--tls-cert``/``--tls-key`` are given (never required).
* Fault file (``--faults``, JSON, read on every transaction) scripts failures at run time::

    {"mode": "accept"}
    {"mode": "reject", "code": 451, "message": "try later"}
    {"mode": "reject", "code": 550, "message": "no such user", "count": 2}
    {"mode": "reject", "code": 421, "stage": "rcpt", "match_to": "bob@"}

  ``stage``: ``"mail"`` (MAIL FROM), ``"rcpt"`` (RCPT TO) or ``"data"`` (end of DATA, default).
  ``count``: only the next N matching transactions are rejected; counted per write of the file
  (rewriting it, even with the same content, starts a new count). ``match_to``/``match_from``:
  only transactions whose envelope recipient/sender contains that text (case-insensitive) are
  affected. A 421 reply also closes the connection. A missing/empty/invalid file means accept.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.parser
import email.policy
import json
import logging
import os
import re
import signal
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from mailroom_devstack._paths import smtp_faults_file, smtp_outbox_dir

log = logging.getLogger("mailroom_devstack.smtp_sink")

INDEX_NAME = "index.jsonl"
_SAFE_RE = re.compile(r"[^A-Za-z0-9._@+=-]+")
_COUNTER_RE = re.compile(r"^(\d+)-")
STAGES = ("mail", "rcpt", "data")


def sanitize_message_id(message_id: str | None, limit: int = 80) -> str:
    """Make a Message-ID usable in a file name: ``<a/b@c>`` -> ``a_b@c``."""
    raw = (message_id or "").strip().strip("<>")
    cleaned = _SAFE_RE.sub("_", raw).strip("._")
    return cleaned[:limit] or "no-message-id"


@dataclass(frozen=True)
class Fault:
    code: int
    message: str
    stage: str = "data"
    count: int | None = None
    match_to: str | None = None
    match_from: str | None = None

    def reply(self) -> str:
        return f"{self.code} {self.message}"

    def matches(self, stage: str, mail_from: str | None, rcpt_tos: Sequence[str]) -> bool:
        if stage != self.stage:
            return False
        if self.match_from and self.match_from.lower() not in (mail_from or "").lower():
            return False
        return not (self.match_to and not any(self.match_to.lower() in r.lower() for r in rcpt_tos))


def parse_fault(data: Any) -> Fault | None:
    """Fault from the JSON document; None means accept. ValueError if malformed."""
    if not data:
        return None
    if not isinstance(data, dict):
        raise ValueError("fault file must hold a JSON object")
    mode = data.get("mode", "accept")
    if mode == "accept":
        return None
    if mode != "reject":
        raise ValueError(f"unknown mode {mode!r}")
    code = data.get("code", 451)
    if not isinstance(code, int) or not 400 <= code <= 599:
        raise ValueError("code must be an SMTP error code 400-599")
    stage = data.get("stage", "data")
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}")
    count = data.get("count")
    if count is not None and (not isinstance(count, int) or count < 0):
        raise ValueError("count must be an integer >= 0")
    default_msg = "Requested action aborted: try again later" if code < 500 else "Rejected"
    return Fault(
        code=code,
        message=str(data.get("message") or default_msg),
        stage=stage,
        count=count,
        match_to=data.get("match_to"),
        match_from=data.get("match_from"),
    )


class FaultSource:
    """Reads the fault file on every check and counts rejections per version of the file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._version: tuple[int, int, str] | None = None
        self._used = 0

    def _load(self) -> Fault | None:
        """Current fault (None = accept); resets the count when the file changed."""
        if self.path is None:
            return None
        try:
            st = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read fault file %s: %s", self.path, exc)
            return None
        version = (st.st_mtime_ns, st.st_ino, text)
        if version != self._version:
            self._version = version
            self._used = 0
        try:
            return parse_fault(json.loads(text) if text.strip() else None)
        except (ValueError, json.JSONDecodeError) as exc:
            log.warning("ignoring invalid fault file %s: %s", self.path, exc)
            return None

    def check(self, stage: str, mail_from: str | None, rcpt_tos: Sequence[str]) -> Fault | None:
        fault = self._load()
        if fault is None or not fault.matches(stage, mail_from, rcpt_tos):
            return None
        if fault.count is not None:
            if self._used >= fault.count:
                return None
            self._used += 1
        return fault


class Outbox:
    """Atomic .eml files plus a JSONL index in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.index_path = directory / INDEX_NAME
        self._counter = self._last_counter()

    def _last_counter(self) -> int:
        last = 0
        for path in self.directory.glob("*.eml"):
            m = _COUNTER_RE.match(path.name)
            if m:
                last = max(last, int(m.group(1)))
        return last

    def store(self, envelope: Envelope, peer: str | None) -> dict[str, Any]:
        raw = envelope.original_content or b""
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        message_id = str(headers.get("Message-ID", "") or "").strip()
        self._counter += 1
        name = f"{self._counter:06d}-{sanitize_message_id(message_id)}.eml"
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".eml", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.directory / name)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        entry: dict[str, Any] = {
            "file": name,
            "message_id": message_id,
            "from": str(headers.get("From", "") or ""),
            "to": str(headers.get("To", "") or ""),
            "cc": str(headers.get("Cc", "") or ""),
            "subject": str(headers.get("Subject", "") or ""),
            "in_reply_to": str(headers.get("In-Reply-To", "") or ""),
            "envelope_from": envelope.mail_from,
            "envelope_to": list(envelope.rcpt_tos),
            "time": datetime.now(UTC).isoformat(),
            "size": len(raw),
            "peer": peer,
        }
        with self.index_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return entry


class SinkHandler:
    def __init__(self, outbox: Outbox, faults: FaultSource) -> None:
        self.outbox = outbox
        self.faults = faults

    def _fault_reply(
        self, server: SMTP, stage: str, mail_from: str | None, rcpt_tos: Sequence[str]
    ) -> str | None:
        fault = self.faults.check(stage, mail_from, rcpt_tos)
        if fault is None:
            return None
        log.info("fault injected at %s: %s", stage, fault.reply())
        if fault.code == 421 and server.transport is not None:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return fault.reply()

    async def handle_MAIL(  # noqa: N802 - aiosmtpd hook
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        reply = self._fault_reply(server, "mail", address, [])
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self._fault_reply(server, "rcpt", envelope.mail_from, [address])
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd hook
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        reply = self._fault_reply(server, "data", envelope.mail_from, envelope.rcpt_tos)
        if reply:
            return reply
        peer = session.peer
        entry = self.outbox.store(envelope, str(peer) if peer else None)
        log.info("stored %s from %s to %s", entry["file"], envelope.mail_from, envelope.rcpt_tos)
        return "250 Message accepted for delivery"


def accept_any_auth(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=True)


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert or not key:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(
    host: str,
    port: int,
    *,
    directory: Path,
    faults_path: Path | None,
    tls: ssl.SSLContext | None = None,
    hostname: str = "mailroom-sink.local",
) -> None:
    handler = SinkHandler(Outbox(directory), FaultSource(faults_path))
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname=hostname,
            ident="mailroom SMTP sink",
            tls_context=tls,
            require_starttls=False,
            auth_required=False,
            auth_require_tls=False,
            authenticator=accept_any_auth,
            data_size_limit=50 * 1024 * 1024,
            loop=loop,
        )

    server = await loop.create_server(factory, host=host, port=port)
    log.info("SMTP sink on %s:%d -> %s (faults: %s)", host, port, directory, faults_path)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    log.info("SMTP sink stopped")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SMTP sink that stores every message")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=21025)
    parser.add_argument("--dir", type=Path, default=None, help="outbox (.stack/smtp/outbox)")
    parser.add_argument("--faults", type=Path, default=None, help="fault file (JSON)")
    parser.add_argument("--tls-cert", default=None, help="offer STARTTLS with this cert")
    parser.add_argument("--tls-key", default=None)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    faults = args.faults or Path(os.environ.get("MAILROOM_SMTP_FAULTS", "") or smtp_faults_file())
    asyncio.run(
        serve(
            args.host,
            args.port,
            directory=args.dir or smtp_outbox_dir(),
            faults_path=faults,
            tls=tls_context(args.tls_cert, args.tls_key),
        )
    )


if __name__ == "__main__":
    main()
