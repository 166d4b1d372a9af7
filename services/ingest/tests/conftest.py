"""The corpus of bad and odd mails, shared by the unit and integration tests.

``corpus_case`` is parametrised over every entry, so each mail is its own test case.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mailroom_common.events import Disposition, InboundEmail


@dataclass(frozen=True)
class CorpusMail:
    raw: bytes
    disposition: Disposition
    check: Callable[[InboundEmail], bool]


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def _headers(extra: str = "", *, msgid: str = "<corpus-{n}@example.com>") -> str:
    return (
        "From: Ana <ana@example.com>\nTo: sales@mailroom.test\nSubject: Corpus\n"
        f"Date: Mon, 3 Mar 2025 10:00:00 +0000\nMessage-ID: {msgid}\n{extra}"
    )


def _big_attachment() -> bytes:
    payload = base64.encodebytes(b"\x89PNG" + b"\x00\xff" * (5 * 1024 * 1024)).decode()
    return _crlf(
        _headers("MIME-Version: 1.0\n") + 'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
        "Content-Type: text/plain; charset=utf-8\n\nVer adjunto.\n--b1\n"
        'Content-Type: image/png\nContent-Disposition: attachment; filename="foto.png"\n'
        "Content-Transfer-Encoding: base64\n\n" + payload + "--b1--\n"
    )


def _corpus() -> dict[str, CorpusMail]:
    answerable = Disposition.ANSWERABLE
    return {
        "malformed_mime": CorpusMail(
            _crlf(
                _headers("MIME-Version: 1.0\n")
                + 'Content-Type: multipart/mixed; boundary="never-closed"\n\n'
                "--never-closed\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
                "SG9sYSwgwr9taSBwZWRpZG8/!!!not base64 at all\n--wrong-boundary\n"
            ),
            answerable,
            lambda e: e.message_key.startswith("corpus-"),
        ),
        "eight_bit_headers": CorpusMail(
            "From: José Pérez <jose@example.com>\r\nTo: sales@mailroom.test\r\n"
            "Subject: Devolución del pedido nº 7\r\nMessage-ID: <corpus-{n}@example.com>\r\n"
            "\r\nQuiero devolverlo.\r\n".encode(),
            answerable,
            lambda e: e.subject == "Devolución del pedido nº 7" and e.from_name == "José Pérez",
        ),
        "no_message_id": CorpusMail(
            _crlf("From: ana@example.com\nTo: sales@mailroom.test\nSubject: sin id {n}\n\nHola\n"),
            answerable,
            lambda e: e.message_key.startswith("sha256:") and e.message_id is None,
        ),
        "no_from": CorpusMail(
            _crlf(
                "To: sales@mailroom.test\nSubject: anónimo\nMessage-ID: <corpus-{n}@example.com>"
                "\n\nHola\n"
            ),
            Disposition.REJECTED,
            lambda e: e.screen_reason == "no_sender_address",
        ),
        "html_only": CorpusMail(
            _crlf(
                _headers("Content-Type: text/html; charset=utf-8\n")
                + "\n<html><body><p>¿Tienen la <b>taza azul</b>?</p></body></html>\n"
            ),
            answerable,
            lambda e: e.html_only and "taza azul" in e.text and "<b>" not in e.text,
        ),
        "empty_body": CorpusMail(
            _crlf(_headers() + "\n"), answerable, lambda e: e.text == "" and e.subject == "Corpus"
        ),
        "attachment_10mb": CorpusMail(
            _big_attachment(),
            answerable,
            lambda e: (
                e.text == "Ver adjunto."
                and e.attachments[0].filename == "foto.png"
                and e.attachments[0].size > 10_000_000
            ),
        ),
        "wrong_charset_label": CorpusMail(
            _headers("Content-Type: text/plain; charset=us-ascii\n").replace("\n", "\r\n").encode()
            + "\r\n¿Cuándo llegará mi pedido? Gracias, señora Núñez\r\n".encode("cp1252"),
            answerable,
            lambda e: "Cuándo llegará" in e.text and "Núñez" in e.text,
        ),
        "very_long_line": CorpusMail(
            _crlf(_headers() + "\n" + "a" * 3_000_000 + "\n"),
            answerable,
            lambda e: e.truncated and 0 < len(e.text) <= 256 * 1024,
        ),
        "thousand_recipients": CorpusMail(
            _crlf(
                _headers().replace(
                    "To: sales@mailroom.test",
                    "To: " + ",\n ".join(f"user{i}@example.com" for i in range(1000)),
                )
                + "\nHola a todos\n"
            ),
            answerable,
            lambda e: len(e.to) == 1000,
        ),
        "binary_garbage": CorpusMail(
            bytes(range(1, 256)) * 40 + b"{n}",
            Disposition.REJECTED,
            lambda e: (e.screen_reason or "").startswith("unparseable"),
        ),
        "unknown_encoded_word_charset": CorpusMail(
            _crlf(_headers().replace("Subject: Corpus", "Subject: =?x-bogus?Q?Hola_caf=E9?="))
            + b"\r\nbody\r\n",
            answerable,
            lambda e: e.subject.startswith("Hola caf"),
        ),
        "forwarded_message": CorpusMail(
            _crlf(
                _headers("MIME-Version: 1.0\n")
                + 'Content-Type: multipart/mixed; boundary="f"\n\n--f\nContent-Type: text/plain\n'
                "\nMira esto\n--f\nContent-Type: message/rfc822\n\nFrom: x@y.z\nSubject: old\n\n"
                "inner body\n--f--\n"
            ),
            answerable,
            lambda e: e.text == "Mira esto" and e.attachments[0].content_type == "message/rfc822",
        ),
        "auto_reply": CorpusMail(
            _crlf(_headers("Auto-Submitted: auto-replied\n") + "\nFuera de la oficina\n"),
            Disposition.IGNORED,
            lambda e: e.screen_reason == "auto_submitted",
        ),
    }


CORPUS = _corpus()


@pytest.fixture
def corpus_mail(corpus_case: str) -> CorpusMail:
    """The corpus entry with ``{n}`` made unique (Message-ID, subject) for this test."""
    entry = CORPUS[corpus_case]
    unique = uuid.uuid4().hex.encode()
    return CorpusMail(entry.raw.replace(b"{n}", unique), entry.disposition, entry.check)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_case" in metafunc.fixturenames:
        metafunc.parametrize("corpus_case", sorted(CORPUS))
