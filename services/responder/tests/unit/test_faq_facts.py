"""FAQ answers sized to the question: lead and facts, selection, budget, file validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from mailroom_common.events import InboundEmail, OutboundEmail, TaskStatus
from mailroom_responder.decision.answers import catalogue_answer
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook, FaqEntry, parse_faq
from mailroom_responder.decision.faq_facts import ANSWER_MAX_CHARS, select_answer
from mailroom_responder.decision.routing import decide
from mailroom_responder.decision.safety import plain_text
from mailroom_responder.decision.text import tidy_paragraphs
from mailroom_responder.inbound import InboundConfig, handle_inbound

TEMPLATES = {"handoff_ack": {"es": "a", "en": "a"}, "holding": {"es": "b", "en": "b"}}

# A long entry of the kind the issue complains about (~700 characters when all is said).
LONG = """
version: 9
answer_max_chars: 800
entries:
  sizes:
    keywords: [talle, size]
    lead:
      es: "Te contamos sobre los talles."
      en: "About our sizes."
    facts:
      - id: measure
        triggers:
          es: [medi*, mido, "como me mido"]
          en: [measure*]
        text:
          es: |
            Para medirte usá un centímetro de costura, sin ajustar.
            Pecho: por la parte más ancha. Cintura: por la parte más fina.
          en: |
            Measure yourself with a soft tape, without pulling it tight.
            Chest: at the widest part. Waist: at the narrowest.
      - id: chart
        triggers:
          es: [tabla, guia]
          en: [chart, guide]
        text:
          es: >-
            Cada prenda tiene su tabla: remeras y buzos por ancho de pecho, pantalones y
            jeans por cintura y largo de tiro, camperas por pecho y largo de manga; la
            encontrás debajo del botón de compra de cada producto de la tienda.
          en: >-
            Every garment has its own chart: tops by chest width, trousers and jeans by
            waist and rise, jackets by chest and sleeve length; it is below the buy button
            of every product in the shop.
      - id: between
        triggers:
          es: [entre, "mas grande", "mas chico"]
          en: [between, larger, smaller]
        text:
          es: >-
            Si estás entre dos talles, te recomendamos el más grande en remeras y buzos, y
            el más chico en jeans elastizados, que ceden con el uso durante las primeras
            semanas.
          en: >-
            If you are between two sizes, we recommend the larger one in tops and the
            smaller one in stretch jeans, which give with wear in the first weeks.
      - id: shoes
        triggers:
          es: [calzado, zapatilla*, zapato*, pie]
          en: [shoe*, sneaker*, foot, feet]
        text:
          es: >-
            En calzado, medí tu pie de talón a punta apoyado sobre una hoja y elegí el
            número cuyo largo en centímetros sea igual o apenas mayor que tu medida.
          en: >-
            For shoes, measure your foot from heel to toe standing on a sheet of paper and
            pick the number whose length in centimetres equals or just exceeds it.
"""


def _book(text: str = LONG, **extra: Any) -> FaqBook:
    data = yaml.safe_load(text)
    data.setdefault("templates", TEMPLATES)
    data.update(extra)
    return parse_faq(data)


def _entry(book: FaqBook, key: str = "sizes") -> FaqEntry:
    entry = book.entry(key)
    assert entry is not None
    return entry


# --- selection --------------------------------------------------------------------------


def test_a_specific_question_gets_only_its_fact_and_is_much_shorter() -> None:
    book = _book()
    entry = _entry(book)
    general = book.answer(entry, "Consulta\nHola, quería saber sobre los talles", "es")
    specific = book.answer(entry, "Talles\n¿Cómo me mido para saber mi talle?", "es")
    assert general.facts == ("measure", "chart", "between", "shoes")
    assert general.general
    assert specific.facts == ("measure",)
    assert not specific.general
    assert specific.text.startswith("Te contamos sobre los talles.\n\nPara medirte")
    assert "tabla" not in specific.text
    assert len(specific.text) * 3 < len(general.text)
    assert specific.label == "sizes (facts: measure)"
    assert general.label == "sizes (facts: measure, chart, between, shoes; none asked)"


def test_a_general_question_gets_every_fact_in_the_files_order() -> None:
    book = _book()
    answer = book.answer(_entry(book), "¿Cómo funcionan los talles?", "es")
    paragraphs = answer.text.split("\n\n")
    assert paragraphs[0] == "Te contamos sobre los talles."
    assert [p.split()[0] for p in paragraphs[1:]] == ["Para", "Cada", "Si", "En"]
    assert answer.text == _entry(book).answers["es"]
    assert len(answer.text) <= 800


def test_with_the_default_budget_a_general_answer_stops_at_600_characters() -> None:
    book = _book(answer_max_chars=None)
    assert book.answer_max_chars == ANSWER_MAX_CHARS == 600
    answer = book.answer(_entry(book), "¿Cómo funcionan los talles?", "es")
    assert len(_entry(book).answers["es"]) > 600
    assert len(answer.text) <= 600
    assert answer.facts == ("measure", "chart", "between")  # the file's order, while they fit


def test_the_shops_line_breaks_and_paragraphs_are_kept() -> None:
    book = _book()
    text = book.answer(_entry(book), "I need to measure myself", "en").text
    assert text == (
        "About our sizes.\n\n"
        "Measure yourself with a soft tape, without pulling it tight.\n"
        "Chest: at the widest part. Waist: at the narrowest."
    )
    # What the sender's safety pass does to a reply keeps them too.
    assert plain_text(text, 1200) == text


def test_english_and_several_facts_asked() -> None:
    book = _book()
    answer = book.answer(_entry(book), "Are the sneakers true to size? I'm between 40 and 41", "en")
    assert answer.facts == ("between", "shoes")
    assert answer.text.startswith("About our sizes.\n\nIf you are between two sizes")
    assert "For shoes" in answer.text


@pytest.mark.parametrize(
    ("mail", "facts"),
    [
        ("¿Qué MEDIDAS tienen?", ("measure",)),  # medi*: case and accents ignored
        ("¿Cómo miden las prendas?", ("measure", "chart", "between", "shoes")),  # no medi*
        ("¿Dónde está la GUÍA?", ("chart",)),  # accents folded
        ("quiero el más grande", ("between",)),  # a phrase: its words in a row
        ("el grande es más", ("measure", "chart", "between", "shoes")),  # not in a row
        ("¿hacen entregas el mismo día?", ("measure", "chart", "between", "shoes")),  # entre≠
        ("Do you have a size chart? ¿y para zapatillas?", ("chart", "shoes")),  # both languages
    ],
)
def test_triggers_match_folded_whole_words(mail: str, facts: tuple[str, ...]) -> None:
    book = _book()
    assert book.answer(_entry(book), mail, "es").facts == facts


def test_the_budget_keeps_a_reply_short() -> None:
    book = _book(answer_max_chars=420)
    entry = _entry(book)
    general = book.answer(entry, "talles", "es")
    assert len(general.text) <= 420
    assert general.facts == ("measure", "chart")  # in order, as long as they fit
    # Only the facts asked are given, so these two fit where the general answer could not.
    asked = book.answer(entry, "medidas del pie para zapatillas", "es")
    assert asked.facts == ("measure", "shoes")
    assert len(asked.text) <= 420
    # Below the file's budget (a caller's own): still what was asked, the first of it.
    assert select_answer(entry, "tabla", "es", max_chars=100).facts == ("chart",)


def test_an_entry_with_one_answer_is_sent_as_written() -> None:
    book = _book(
        "entries:\n  horario:\n    keywords: [horario]\n    answer:\n"
        "      es: |\n        Lunes a viernes,   9 a 18.\n\n\n\n        Sábados, 10 a 14.\n"
        "      en: Weekdays 9 to 6.\n"
    )
    entry = _entry(book, "horario")
    assert entry.sheet is None
    for mail in ("¿Qué horario tienen los sábados?", "horario"):
        answer = book.answer(entry, mail, "es")
        assert answer.text == "Lunes a viernes, 9 a 18.\n\nSábados, 10 a 14."
        assert (answer.facts, answer.label) == ((), "horario")
    assert book.answer(entry, "hours?", "en").text == "Weekdays 9 to 6."


def test_tidy_paragraphs() -> None:
    assert tidy_paragraphs("  a   b \n c\n\n\n\n d  \n") == "a b\nc\n\nd"


# --- the packaged FAQ file ------------------------------------------------------------------


def test_the_packaged_file_splits_its_long_entries_into_facts(faq: FaqBook) -> None:
    assert faq.version == "2"
    for key in ("shipping", "payments", "returns", "sizes", "stock"):
        entry = _entry(faq, key)
        assert entry.sheet is not None, key
        assert len(entry.sheet.facts) >= 2, key
        # A general question gets everything the entry says.
        assert faq.answer(entry, "Consulta", "es").text == entry.answers["es"]
        assert faq.answer(entry, "Question", "en").text == entry.answers["en"]


@pytest.mark.parametrize(
    ("key", "mail", "language", "facts"),
    [
        ("sizes", "¿Cómo me mido para saber mi talle?", "es", ("guide",)),
        ("sizes", "Estoy entre dos talles, ¿cuál elijo?", "es", ("between",)),
        ("sizes", "I'm between two sizes", "en", ("between",)),
        ("shipping", "¿Cuánto sale el envío a Córdoba?", "es", ("cost",)),
        ("shipping", "How long does delivery take to Rosario?", "en", ("timing",)),
        ("shipping", "¿Cómo son los envíos?", "es", ("timing", "cost")),
        ("payments", "¿Puedo pagar en cuotas?", "es", ("instalments",)),
        ("payments", "Do you accept PayPal?", "en", ("methods",)),
        ("returns", "¿El cambio tiene costo de envío?", "es", ("first_free",)),
        ("returns", "¿Cuál es la política de cambios?", "es", ("how", "first_free")),
        ("stock", "¿Me avisan cuando vuelva el M?", "es", ("notify",)),
    ],
)
def test_packaged_facts_answer_what_is_asked(
    faq: FaqBook, key: str, mail: str, language: str, facts: tuple[str, ...]
) -> None:
    answer = faq.answer(_entry(faq, key), mail, language)
    assert answer.facts == facts


def test_an_faq_reply_gives_the_fact_asked(
    make_email: Callable[..., InboundEmail], faq: FaqBook, catalogue: Catalogue
) -> None:
    email = make_email("Hola, ¿cómo me mido para saber mi talle?", subject="Talles")
    result = handle_inbound(email, history=[], faq=faq, catalogue=catalogue, cfg=InboundConfig())
    (reply,) = [e.event for e in result.emissions if isinstance(e.event, OutboundEmail)]
    assert reply.body_text == (
        "Nuestra guía de talles está en cada producto de la tienda, con las medidas en centímetros."
    )
    (replied,) = [
        e.event for e in result.emissions if getattr(e.event, "status", None) is TaskStatus.REPLIED
    ]
    assert replied.reason == "faq v2: sizes (facts: guide)"  # type: ignore[union-attr]


def test_a_catalogue_reply_adds_only_the_policy_fact_asked(
    faq: FaqBook, catalogue: Catalogue
) -> None:
    decision = decide("", "¿Cuánto sale el jean mom? ¿Y cuánto tarda el envío?", faq, catalogue)
    answer = catalogue_answer(decision, catalogue, faq, "es")
    assert answer is not None
    assert "Hacemos envíos a todo el país por correo." in answer.text
    assert "48 horas hábiles" in answer.text
    assert "código postal" not in answer.text  # the cost of shipping was not asked
    assert "faq:shipping (facts: timing)" in answer.reason


# --- validation -----------------------------------------------------------------------------


def _facts_entry(**entry: Any) -> dict[str, Any]:
    return {"entries": {"x": {"keywords": ["x"], **entry}}, "templates": TEMPLATES}


FACT = {"id": "a", "triggers": {"es": ["hola"], "en": ["hi"]}, "text": {"es": "A.", "en": "A."}}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"answer": {"es": "a", "en": "a"}, "facts": [FACT]}, "both an answer and facts"),
        ({"lead": {"es": "a", "en": "a"}}, "facts must be a non-empty list"),
        ({"facts": []}, "facts must be a non-empty list"),
        ({"facts": ["texto"]}, "each fact is a mapping"),
        ({"facts": [{**FACT, "trigger": ["x"]}]}, r"unknown key\(s\) \['trigger'\]"),
        ({"facts": [{**FACT, "id": "Talle Único"}]}, "id must be lower-case"),
        ({"facts": [FACT, FACT]}, "'a' is used twice"),
        ({"facts": [{**FACT, "triggers": ["hola"]}]}, "triggers must be a mapping"),
        ({"facts": [{**FACT, "triggers": {"es": ["hola"]}}]}, "list of en triggers"),
        ({"facts": [{**FACT, "triggers": {"es": ["x"], "en": [], "pt": ["y"]}}]}, "'pt'"),
        ({"facts": [{**FACT, "triggers": {"es": ["me*"], "en": ["x"]}}]}, "at least 3"),
        ({"facts": [{**FACT, "triggers": {"es": ["*"], "en": ["x"]}}]}, r"'\*' ends"),
        ({"facts": [{**FACT, "triggers": {"es": ["¿?"], "en": ["x"]}}]}, "no letters"),
        ({"facts": [{**FACT, "triggers": {"es": [3], "en": ["x"]}}]}, "a word or phrase"),
        ({"facts": [{**FACT, "text": {"es": "A."}}]}, r"fact 1 'a' lacks a text in \['en'\]"),
        ({"facts": [{**FACT, "text": "A."}]}, "must be a mapping of es and en"),
        ({"lead": {"es": "L"}, "facts": [FACT]}, r"lead lacks a text in \['en'\]"),
        (
            {"lead": {"es": "L" * 597, "en": "L"}, "facts": [FACT]},
            r"lead and fact 'a' \(es\) are 601 characters; a reply holds at most 600",
        ),
        ({"answer": {"es": "hola"}}, r"lacks an answer in \['en'\]"),
    ],
)
def test_a_badly_shaped_entry_is_refused_with_a_clear_error(
    entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_faq(_facts_entry(**entry))


def test_a_bad_budget_or_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="answer_max_chars must be a whole number"):
        parse_faq({**_facts_entry(facts=[FACT]), "answer_max_chars": "short"})
    with pytest.raises(ValueError, match="answer_max_chars"):
        parse_faq({**_facts_entry(facts=[FACT]), "answer_max_chars": 20})
    with pytest.raises(ValueError, match="FAQ entry 'x' must be a mapping"):
        parse_faq({"entries": {"x": "Hacemos envíos"}, "templates": TEMPLATES})
