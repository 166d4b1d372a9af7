from __future__ import annotations

from mailroom_common.quotes import split_reply


def test_plain_text_is_all_new() -> None:
    parts = split_reply("Hola,\n¿tienen la taza azul en stock?\nGracias")
    assert parts.text == "Hola,\n¿tienen la taza azul en stock?\nGracias"
    assert parts.quoted == ""
    assert parts.signature == ""


def test_english_attribution_starts_the_quote() -> None:
    parts = split_reply(
        "Yes, please send it.\n\nOn Mon, 3 Mar 2025 at 10:00, Shop <shop@x.test> wrote:\n"
        "> Do you want the blue one?\n> Thanks"
    )
    assert parts.text == "Yes, please send it."
    assert parts.quoted.startswith("On Mon, 3 Mar 2025")
    assert "> Do you want the blue one?" in parts.quoted


def test_spanish_attribution_starts_the_quote() -> None:
    parts = split_reply(
        "Perfecto, gracias.\n\nEl lun, 3 mar 2025 a las 10:00, Tienda (<tienda@x.test>) "
        "escribió:\n> ¿Quiere la azul?"
    )
    assert parts.text == "Perfecto, gracias."
    assert parts.quoted.startswith("El lun, 3 mar 2025")


def test_attribution_wrapped_over_two_lines() -> None:
    parts = split_reply(
        "Thanks!\n\nOn Mon, 3 Mar 2025 at 10:00, A Very Long Name <long.name@example.com>\n"
        "wrote:\n> earlier"
    )
    assert parts.text == "Thanks!"
    assert "wrote:" in parts.quoted
    assert "> earlier" in parts.quoted


def test_spanish_sentence_with_escribio_is_not_a_quote() -> None:
    text = "El lunes mi hermana me escribió:\nque el paquete no llegó"
    assert split_reply(text).text == text


def test_interleaved_quotes_keep_the_answers() -> None:
    parts = split_reply("> ¿Talla?\nM\n> ¿Color?\nAzul")
    assert parts.text == "M\nAzul"
    assert parts.quoted == "> ¿Talla?\n> ¿Color?"


def test_outlook_original_message_marker() -> None:
    parts = split_reply(
        "See below.\n\n-----Original Message-----\nFrom: Shop\nSent: Monday\nSubject: x\n\nold"
    )
    assert parts.text == "See below."
    assert parts.quoted.startswith("-----Original Message-----")


def test_spanish_outlook_header_block() -> None:
    parts = split_reply(
        "Lo quiero en rojo.\n\n________________________________\nDe: Tienda <t@x.test>\n"
        "Enviado: lunes, 3 de marzo de 2025 10:00\nPara: Ana <ana@y.test>\nAsunto: Pedido\n\n"
        "Texto anterior"
    )
    assert parts.text == "Lo quiero en rojo."
    assert "De: Tienda" in parts.quoted
    assert "Texto anterior" in parts.quoted


def test_mensaje_original_marker() -> None:
    parts = split_reply("Ok\n-----Mensaje original-----\nDe: a")
    assert parts.text == "Ok"
    assert parts.quoted.startswith("-----Mensaje original-----")


def test_dash_dash_signature() -> None:
    parts = split_reply("Hola, quiero devolver el pedido 123.\n\n-- \nAna García\nTel 600 000 000")
    assert parts.text == "Hola, quiero devolver el pedido 123."
    assert parts.signature == "Ana García\nTel 600 000 000"


def test_mobile_footers_are_signatures() -> None:
    assert split_reply("Where is my order?\n\nSent from my iPhone").signature == (
        "Sent from my iPhone"
    )
    parts = split_reply("¿Dónde está mi pedido?\n\nEnviado desde mi Samsung Galaxy")
    assert parts.text == "¿Dónde está mi pedido?"
    assert parts.signature == "Enviado desde mi Samsung Galaxy"


def test_signature_before_the_quote() -> None:
    parts = split_reply("Gracias\n--\nAna\n\nOn Tue, 4 Mar 2025, shop@x.test wrote:\n> hola")
    assert (parts.text, parts.signature) == ("Gracias", "Ana")
    assert parts.quoted.startswith("On Tue")


def test_signature_only_mail_keeps_its_text() -> None:
    assert split_reply("-- \nAna").text == "Ana"
