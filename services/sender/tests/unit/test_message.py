from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from mailroom_sender.message import (
    MAX_REFERENCES,
    Identity,
    OutgoingMail,
    build_email,
    build_references,
    make_message_id,
    normalise_subject,
    reply_subject,
)

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
SHOP = Identity("shop@mailroom.test", "Tienda Mailroom", "mailroom.test", reply_to=None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Consulta de talles", "Re: Consulta de talles"),
        ("Re: Consulta", "Re: Consulta"),
        ("Re: RE: Re: Consulta", "Re: Consulta"),
        ("RV: Re: Fwd: envío", "Re: envío"),
        ("re[2]: AW: SV: pedido 12", "Re: pedido 12"),
        ("  Re:   muchos    espacios ", "Re: muchos espacios"),
        ("Recibo de compra", "Re: Recibo de compra"),  # "Re" inside a word is not a prefix
        ("", "Re: Tu consulta"),
        ("Re: ", "Re: Tu consulta"),
    ],
)
def test_reply_subject_has_exactly_one_re(raw: str, expected: str) -> None:
    assert reply_subject(raw) == expected


def test_normalise_subject_keeps_plain_subjects() -> None:
    assert normalise_subject("Pedido #12: demora") == "Pedido #12: demora"


def test_message_id_is_deterministic_per_task_and_kind() -> None:
    a = make_message_id("<abc@cliente.com>", "reply", "mailroom.test")
    assert a == make_message_id("<abc@cliente.com>", "reply", "mailroom.test")
    assert a != make_message_id("<abc@cliente.com>", "holding", "mailroom.test")
    assert a != make_message_id("<abd@cliente.com>", "reply", "mailroom.test")
    assert a.startswith("<")
    assert a.endswith(".reply@mailroom.test>")
    assert "handoff-ack@" in make_message_id("k", "handoff_ack", "mailroom.test")


def test_references_append_parent_and_deduplicate() -> None:
    refs = build_references(["<root@x>", "<mid@x>", "<root@x>"], "<parent@x>")
    assert refs == ["<root@x>", "<mid@x>", "<parent@x>"]
    # The parent already listed is moved last, where clients expect it.
    assert build_references(["<parent@x>", "<b@x>"], "<parent@x>") == ["<b@x>", "<parent@x>"]
    assert build_references([], "bare-id@x") == ["<bare-id@x>"]
    assert build_references(["<a@x> <b@x>"], None) == ["<a@x>", "<b@x>"]


def test_references_are_trimmed_keeping_root_and_newest() -> None:
    refs = [f"<m{i}@x>" for i in range(50)]
    out = build_references(refs, "<parent@x>")
    assert len(out) == MAX_REFERENCES
    assert out[0] == "<m0@x>"
    assert out[-1] == "<parent@x>"
    assert out[-2] == "<m49@x>"


def _parse(raw: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def test_reply_headers_for_threading_and_rfc3834() -> None:
    mail = OutgoingMail(
        message_key="<q1@cliente.com>",
        kind="reply",
        to="ana@cliente.com",
        subject=reply_subject("RE: Re: ¿Tienen talle M?"),
        body_text="Hola Ana, sí tenemos talle M.",
        body_html="<p>Hola Ana, sí tenemos talle M.</p>",
        in_reply_to="<q1@cliente.com>",
        references=("<q0@cliente.com>",),
    )
    identity = Identity("shop@mailroom.test", "Tienda Mailroom", "mailroom.test", "ventas@x.com")
    msg = _parse(build_email(mail, identity, now=NOW).as_bytes(policy=email.policy.SMTP))
    assert msg["Subject"] == "Re: ¿Tienen talle M?"
    assert msg["In-Reply-To"] == "<q1@cliente.com>"
    assert msg["References"] == "<q0@cliente.com> <q1@cliente.com>"
    assert msg["Message-ID"] == make_message_id("<q1@cliente.com>", "reply", "mailroom.test")
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["From"] == "Tienda Mailroom <shop@mailroom.test>"
    assert msg["Reply-To"] == "ventas@x.com"
    assert msg["To"] == "ana@cliente.com"
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None
    assert "talle M" in plain.get_content()
    assert html is not None
    assert "<p>" in html.get_content()


def test_no_reply_to_and_text_only_when_not_configured() -> None:
    mail = OutgoingMail(
        "k", "transactional", "a@b.com", "Pedido", "texto", auto_submitted="auto-generated"
    )
    msg = build_email(mail, SHOP, now=NOW)
    assert msg["Reply-To"] is None
    assert msg["In-Reply-To"] is None
    assert msg["References"] is None
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "text/plain"


def test_invalid_recipient_is_refused() -> None:
    mail = OutgoingMail("k", "reply", "not an address", "s", "t")
    with pytest.raises(ValueError, match=r"."):
        build_email(mail, SHOP, now=NOW).as_bytes()
