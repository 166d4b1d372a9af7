from __future__ import annotations

import pytest

from mailroom_ingest.keys import (
    message_key,
    normalise_message_id,
    normalise_subject,
    parse_message_ids,
    thread_key,
)


def test_message_key_is_the_bare_message_id() -> None:
    key = message_key(" <Abc.1@Example.com> ", from_address=None, date=None, subject="", body="")
    assert key == "Abc.1@Example.com"


def test_message_key_without_message_id_is_a_stable_content_hash() -> None:
    args = {"from_address": "a@x.com", "date": "Mon, 3 Mar 2025", "subject": "Hola", "body": "b"}
    first = message_key(None, **args)  # type: ignore[arg-type]
    assert first.startswith("sha256:")
    assert len(first) == 7 + 64
    assert first == message_key("", **args)  # type: ignore[arg-type]
    assert first != message_key(None, **{**args, "body": "c"})  # type: ignore[arg-type]


def test_garbage_message_id_falls_back_to_the_hash() -> None:
    assert normalise_message_id("<  >") is None
    key = message_key("<>", from_address="a@x", date=None, subject="s", body="")
    assert key.startswith("sha256:")


def test_references_are_parsed_in_order() -> None:
    assert parse_message_ids("<a@x> <b@y>\r\n <c@z>") == ["a@x", "b@y", "c@z"]
    assert parse_message_ids("bare@id") == ["bare@id"]
    assert parse_message_ids(None) == []


def test_thread_key_prefers_the_references_root() -> None:
    assert thread_key(["root@x", "mid@x"], "<mid@x>", from_address="a@x", subject="s") == "root@x"


def test_thread_key_falls_back_to_in_reply_to() -> None:
    assert thread_key([], "<parent@x>", from_address="a@x", subject="s") == "parent@x"


def test_thread_key_without_headers_uses_sender_and_subject() -> None:
    first = thread_key([], None, from_address="Ana@X.com", subject="Pedido 12")
    again = thread_key([], None, from_address="ana@x.com", subject="RE: Fwd: pedido  12")
    other = thread_key([], None, from_address="bob@x.com", subject="Pedido 12")
    assert first == again != other
    assert "ana" not in first  # addresses are not Kafka keys


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Pedido", "pedido"),
        ("RE: re: FWD: Pedido", "pedido"),
        ("RV: Pedido", "pedido"),
        ("AW: WG: Bestellung", "bestellung"),
        ("Re[2]: Pedido", "pedido"),
        ("[Tienda] Re: Pedido", "pedido"),
        ("Fw: Re:Pedido   azul", "pedido azul"),
        ("Reunión", "reunión"),
    ],
)
def test_normalise_subject(subject: str, expected: str) -> None:
    assert normalise_subject(subject) == expected
