"""Put a customer email into a mailbox over IMAP APPEND (default: the local shop mailbox).

    python -m mailroom_devstack.mail_drop --from "Ana <ana@example.com>" \\
        --subject "¿Tienen la taza azul?" --body "Hola, ..."
    python -m mailroom_devstack.mail_drop --raw message.eml

Importable: :func:`drop_mail` builds and appends a message, :func:`append_raw` appends bytes.
"""

from __future__ import annotations

import argparse
import ssl
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Literal

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted

IMAP_HOST = "127.0.0.1"
IMAP_PORT = 21143
IMAPS_PORT = 21993
SHOP_USER = "shop@mailroom.test"
SHOP_PASSWORD = "shop-secret"  # noqa: S105 - local test mailbox
SALES_USER = "sales@mailroom.test"
SALES_PASSWORD = "sales-secret"  # noqa: S105 - local test mailbox

Security = Literal["plain", "starttls", "ssl"]


def _unverified_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed local certificate
    return ctx


def open_mailbox(
    host: str = IMAP_HOST,
    port: int | None = None,
    security: Security = "plain",
    timeout: float | None = 10.0,
) -> MailBox | MailBoxStartTls | MailBoxUnencrypted:
    """Connected (not logged-in) imap-tools mailbox; TLS certificates are not verified."""
    if security == "ssl":
        return MailBox(host, port or IMAPS_PORT, timeout=timeout, ssl_context=_unverified_context())
    if security == "starttls":
        return MailBoxStartTls(
            host, port or IMAP_PORT, timeout=timeout, ssl_context=_unverified_context()
        )
    return MailBoxUnencrypted(host, port or IMAP_PORT, timeout=timeout)


def build_message(
    *,
    from_addr: str,
    subject: str,
    body: str,
    to: str = SHOP_USER,
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = from_addr
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def append_raw(
    raw: bytes,
    *,
    user: str = SHOP_USER,
    password: str = SHOP_PASSWORD,
    folder: str = "INBOX",
    host: str = IMAP_HOST,
    port: int | None = None,
    security: Security = "plain",
    flags: Iterable[str] = (),
) -> None:
    """Append raw RFC 5322 bytes to ``folder`` of ``user``'s mailbox."""
    with open_mailbox(host, port, security).login(user, password, initial_folder=None) as mb:
        mb.append(raw, folder, dt=None, flag_set=list(flags) or None)


def drop_mail(
    *,
    from_addr: str,
    subject: str,
    body: str,
    to: str = SHOP_USER,
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    user: str = SHOP_USER,
    password: str = SHOP_PASSWORD,
    folder: str = "INBOX",
    host: str = IMAP_HOST,
    port: int | None = None,
    security: Security = "plain",
) -> str:
    """Build a customer email, append it to the mailbox and return its Message-ID."""
    msg = build_message(
        from_addr=from_addr,
        subject=subject,
        body=body,
        to=to,
        html=html,
        message_id=message_id,
        in_reply_to=in_reply_to,
    )
    append_raw(
        msg.as_bytes(),
        user=user,
        password=password,
        folder=folder,
        host=host,
        port=port,
        security=security,
    )
    return str(msg["Message-ID"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Append a customer email to an IMAP mailbox")
    parser.add_argument("--from", dest="from_addr", default="Ana <ana@example.com>")
    parser.add_argument("--to", default=None, help="To header (default: the mailbox user)")
    parser.add_argument("--subject", default="Consulta")
    parser.add_argument("--body", default="Hola, ¿tienen stock?")
    parser.add_argument("--html", default=None, help="optional HTML alternative")
    parser.add_argument("--message-id", default=None)
    parser.add_argument("--in-reply-to", default=None)
    parser.add_argument("--raw", type=Path, default=None, help="append this .eml file as is")
    parser.add_argument("--user", default=SHOP_USER)
    parser.add_argument("--password", default=None, help="default: the local test password")
    parser.add_argument("--folder", default="INBOX")
    parser.add_argument("--host", default=IMAP_HOST)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--security", choices=["plain", "starttls", "ssl"], default="plain")
    args = parser.parse_args(argv)
    password = args.password or (SALES_PASSWORD if args.user == SALES_USER else SHOP_PASSWORD)
    if args.raw is not None:
        append_raw(
            args.raw.read_bytes(),
            user=args.user,
            password=password,
            folder=args.folder,
            host=args.host,
            port=args.port,
            security=args.security,
        )
        print(f"appended {args.raw} to {args.user}/{args.folder}")
        return
    message_id = drop_mail(
        from_addr=args.from_addr,
        subject=args.subject,
        body=args.body,
        to=args.to or args.user,
        html=args.html,
        message_id=args.message_id,
        in_reply_to=args.in_reply_to,
        user=args.user,
        password=password,
        folder=args.folder,
        host=args.host,
        port=args.port,
        security=args.security,
    )
    print(message_id)


if __name__ == "__main__":
    main()
