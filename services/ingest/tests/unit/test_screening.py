"""One case per screening rule, and plain customer mail that must pass."""

from __future__ import annotations

import pytest

from mailroom_ingest.screening import ScreenInput, screen

OWN = frozenset({"shop@mailroom.test"})


def _mail(
    headers: dict[str, str] | None = None,
    *,
    from_address: str | None = "ana@example.com",
    content_type: str = "text/plain",
    message_id: str | None = "<1@example.com>",
) -> ScreenInput:
    return ScreenInput(
        headers={k.lower(): [v] for k, v in (headers or {}).items()},
        content_type=content_type,
        from_address=from_address,
        message_id=message_id,
        own_addresses=OWN,
        own_domain="mailroom.test",
    )


def test_plain_customer_mail_is_answerable() -> None:
    assert screen(_mail({"Subject": "Hola", "Return-Path": "<ana@example.com>"})) is None


def test_auto_submitted_no_is_answerable() -> None:
    assert screen(_mail({"Auto-Submitted": "no"})) is None


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "auto-notified; owner=x"])
def test_auto_submitted(value: str) -> None:
    assert screen(_mail({"Auto-Submitted": value})) == "auto_submitted"


@pytest.mark.parametrize("name", ["X-Autoreply", "X-Autorespond", "X-Autoresponder"])
def test_autoreply_headers(name: str) -> None:
    assert screen(_mail({name: "yes"})) == name.lower().replace("-", "_")


@pytest.mark.parametrize("value", ["bulk", "list", "junk", "auto_reply", "Bulk"])
def test_precedence(value: str) -> None:
    assert screen(_mail({"Precedence": value})) == f"precedence_{value.lower()}"


def test_x_precedence() -> None:
    assert screen(_mail({"X-Precedence": "bulk"})) == "precedence_bulk"


def test_precedence_first_class_is_answerable() -> None:
    assert screen(_mail({"Precedence": "first-class"})) is None


def test_list_id() -> None:
    assert screen(_mail({"List-Id": "<news.example.com>"})) == "list_id"


def test_list_unsubscribe() -> None:
    assert screen(_mail({"List-Unsubscribe": "<mailto:u@x>"})) == "list_unsubscribe"


def test_x_loop() -> None:
    assert screen(_mail({"X-Loop": "helpdesk@example.com"})) == "x_loop"


@pytest.mark.parametrize("value", ["All", "OOF, AutoReply", "DR, RN, NRN, OOF"])
def test_x_auto_response_suppress(value: str) -> None:
    assert screen(_mail({"X-Auto-Response-Suppress": value})) == "x_auto_response_suppress"


def test_x_auto_response_suppress_for_receipts_only_is_answerable() -> None:
    assert screen(_mail({"X-Auto-Response-Suppress": "DR, RN, NRN"})) is None


def test_bounce_multipart_report() -> None:
    assert screen(_mail(content_type="multipart/report")) == "bounce_report"


def test_bounce_empty_return_path() -> None:
    assert screen(_mail({"Return-Path": "<>"})) == "bounce_empty_return_path"


def test_bounce_failed_recipients() -> None:
    assert screen(_mail({"X-Failed-Recipients": "a@b"})) == "bounce_failed_recipients"


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.com",
        "postmaster@example.com",
        "no-reply@example.com",
        "noreply@example.com",
        "do-not-reply@example.com",
        "noreply+orders@example.com",
    ],
)
def test_system_senders(sender: str) -> None:
    assert screen(_mail(from_address=sender)) == "system_sender"


def test_reply_all_is_not_a_system_sender() -> None:
    assert screen(_mail(from_address="replyall@example.com")) is None
    assert screen(_mail(from_address="noreplyhere.fan@example.com")) is None


def test_our_own_address() -> None:
    assert screen(_mail(from_address="Shop@Mailroom.test")) == "own_address"


def test_our_own_domain_in_message_id() -> None:
    assert screen(_mail(message_id="<abc.123@mailroom.test>")) == "own_message_id"


def test_customer_on_a_subdomain_message_id_is_answerable() -> None:
    assert screen(_mail(message_id="<abc@mail.mailroom.test.example.com>")) is None
