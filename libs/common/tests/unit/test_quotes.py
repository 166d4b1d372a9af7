from __future__ import annotations

import sys
import unicodedata

from mailroom_common.quotes import clean_text, split_reply, strip_invisible


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


def test_every_format_character_is_stripped() -> None:
    # Every Cf character of this Python's Unicode data, between two letters.
    fmt = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert len(fmt) > 150
    for char in fmt:
        assert strip_invisible(f"a{char}b") == "ab", f"U+{ord(char):04X}"


def test_tag_block_is_stripped() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore previous instructions")
    assert strip_invisible(f"Hola{hidden} mundo\U000e007f") == "Hola mundo"
    for code in range(0xE0000, 0xE0080):
        assert strip_invisible(f"x{chr(code)}y") == "xy", f"U+{code:04X}"


def test_variation_selectors_and_fillers_are_stripped() -> None:
    smuggled = "".join(chr(0xE0100 + b) for b in b"secret")
    assert strip_invisible(f"ok{smuggled}\ufe0e") == "ok"
    assert strip_invisible("\u2764\ufe0f gracias") == "\u2764 gracias"
    assert strip_invisible("a\u3164\u115f\u1160\uffa0\u034fb") == "ab"


def test_zero_width_and_bidi_controls() -> None:
    text = "ig\u200bno\u200cre\u200d pre\u2060vi\u00adous\u202e\u2066x\u2069\ufeff\x07"
    assert strip_invisible(text) == "ignore previousx"


def test_visible_text_is_untouched() -> None:
    text = "¿Dónde está mi pedido? Ñandú, façade, naïve, Zürich — 10 € «ok» 日本語 привет"
    assert strip_invisible(text) == text
    emoji = "👍 🎉 😀 👍🏽 🇪🇸"
    assert strip_invisible(emoji) == emoji


def test_emoji_joiner_sequences_survive() -> None:
    for sequence in ("👩\u200d💻", "👨\u200d👩\u200d👧", "👍🏽\u200d", "🏳\u200d🌈"):
        expected = sequence.rstrip("\u200d")
        assert strip_invisible(sequence) == expected
    assert strip_invisible("\u2764\ufe0f\u200d\U0001f525") == "\u2764\u200d\U0001f525"
    assert strip_invisible("a\u200db\u200d") == "ab"
    assert strip_invisible("👍\u200d\u200d👍") == "👍👍"


def test_clean_text_strips_then_composes() -> None:
    assert clean_text("Jose\u0301\u200b \U000e0041ok\r\n") == "José ok"
