"""The router: hand-off rules and their shields, FAQ topics, product-first matching."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from mailroom_common.events import Route
from mailroom_responder.decision.catalogue import Catalogue, ProductInfo, VariantInfo
from mailroom_responder.decision.cues import anchors_of, parse_cues
from mailroom_responder.decision.faq import FaqBook, load_faq, parse_faq
from mailroom_responder.decision.routing import decide


def route(text: str, faq: FaqBook, catalogue: Catalogue, subject: str = "") -> tuple[str, str]:
    decision = decide(subject, text, faq, catalogue)
    return decision.route.value, decision.intent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¿Qué precio tiene el jean mom?", ("catalogue", "price")),
        ("¿tienen la remera en talle M?", ("catalogue", "stock")),
        ("Hola, ¿hay stock de la campera puffer verde?", ("catalogue", "stock")),
        ("How much is the Jean Recto?", ("catalogue", "price")),
        ("¿Hacen envíos a Córdoba?", ("faq", "shipping")),
        ("¿Cuánto tarda en llegar?", ("faq", "shipping")),
        ("¿Cuánto sale el envío?", ("faq", "shipping")),
        ("¿Qué medios de pago aceptan? ¿Puedo pagar en cuotas?", ("faq", "payments")),
        ("Do you accept credit card payments?", ("faq", "payments")),
        ("¿Cómo hago un cambio de talle?", ("faq", "returns")),
        ("What is your return policy?", ("faq", "returns")),
        ("¿Tienen una guía de talles?", ("faq", "sizes")),
        ("¿Cuándo reponen stock?", ("faq", "stock")),
        ("Me encanta la remera básica", ("catalogue", "product")),
        ("¿Abren el local el sábado?", ("llm", "general")),
    ],
)
def test_routes(text: str, expected: tuple[str, str], faq: FaqBook, catalogue: Catalogue) -> None:
    assert route(text, faq, catalogue) == expected


def test_price_and_size_words_never_pull_a_product_question_to_the_faq(
    faq: FaqBook, catalogue: Catalogue
) -> None:
    for text in ("¿Qué precio tiene el jean mom?", "¿tienen la remera en talle M?"):
        assert route(text, faq, catalogue)[0] == "catalogue"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Quiero hablar con una persona, por favor", "human_requested"),
        ("Can I talk to a person?", "human_requested"),
        ("Esto es una estafa, estoy indignado", "angry"),
        ("Quiero el reembolso de mi dinero", "refund_dispute"),
        ("I want a refund", "refund_dispute"),
        ("Voy a iniciar un contracargo con la tarjeta", "chargeback"),
        ("Si no aparece, le voy a pedir al banco que me lo devuelva", "chargeback"),
        ("Mi abogado se va a comunicar", "legal"),
        ("I will take legal action", "legal"),
        ("La campera llegó rota", "damaged_goods"),
        ("The jeans arrived damaged", "damaged_goods"),
        ("Abrí el paquete y vino una remera blanca, yo había elegido la negra", "wrong_item"),
        ("¿Dónde está mi pedido #1234?", "needs_order_or_account"),
        ("mi pedido no llegó", "needs_order_or_account"),
        ("Where is my order?", "needs_order_or_account"),
        ("No puedo entrar a mi cuenta", "needs_order_or_account"),
        ("Genial, tercera semana esperando. Servicio de primera.", "sarcasm"),
    ],
)
def test_handoffs(text: str, reason: str, faq: FaqBook, catalogue: Catalogue) -> None:
    decision = decide("", text, faq, catalogue)
    assert (decision.route, decision.intent) == (Route.HANDOFF, reason)
    assert decision.reason.startswith("handoff: ")
    assert any(e.startswith(f"handoff:{reason}") for e in decision.evidence)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm annoyed at myself, I lost the size chart. Where can I find it?", "faq"),
        ("Mi hermano es abogado y quiere la campera puffer, ¿qué talles tienen?", "catalogue"),
        ("¿Tienen el jean roto de la foto en talle 40?", "catalogue"),
        ("¿Tienen garantía de devolución del dinero?", "faq"),
        ("How does tracking work?", "faq"),
        ("Si la campera llega fallada, ¿la puedo cambiar?", "faq"),
        ("Quiero saber si el sueldo alcanza para la campera puffer", "catalogue"),
        ("Hay mucha demanda de camperas, ¿tienen la puffer?", "catalogue"),
    ],
)
def test_not_a_handoff(text: str, expected: str, faq: FaqBook, catalogue: Catalogue) -> None:
    assert route(text, faq, catalogue)[0] == expected


def test_quoted_subject_of_an_earlier_message_does_not_decide(
    faq: FaqBook, catalogue: Catalogue
) -> None:
    text = "Perfecto, gracias. Otra cosa: ¿hacen envíos a Montevideo?"
    assert route(text, faq, catalogue, subject="Re: Tu pedido 10211") == ("faq", "shipping")


def test_product_names_are_masked_from_topic_words(faq: FaqBook) -> None:
    catalogue = Catalogue(
        (
            ProductInfo.build(
                sku="BUZ-EG",
                name="Buzo Envío Gratis",
                category="Buzos",
                variants=(VariantInfo("M", "gris", Decimal("30000"), "ARS", 2),),
            ),
        )
    )
    decision = decide("", "¿Cuánto sale el buzo envío gratis en M?", faq, catalogue)
    assert (decision.route, decision.intent) == (Route.CATALOGUE, "price")
    assert decision.product_skus == ("BUZ-EG",)


def test_two_topics_the_asked_one_wins(faq: FaqBook, catalogue: Catalogue) -> None:
    assert route("¿el cambio tiene costo de envío?", faq, catalogue) == ("faq", "returns")


def test_english_finds_spanish_names(faq: FaqBook, catalogue: Catalogue) -> None:
    decision = decide("", "Do you have the green puffer jacket in M?", faq, catalogue)
    assert decision.route is Route.CATALOGUE
    assert decision.product_skus[:1] == ("CP-01",)
    assert decision.language == "en"


def test_decision_is_explainable(faq: FaqBook, catalogue: Catalogue) -> None:
    decision = decide("Consulta", "¿Hacen envíos a Córdoba?", faq, catalogue)
    record = decision.record()
    assert record["route"] == "faq"
    assert record["reason"].startswith("faq:shipping: ")
    assert 0.0 < record["confidence"] <= 1.0
    assert record["language"] == "es"
    nothing = decide("", "Hola", faq, catalogue)
    assert nothing.route is Route.LLM
    assert nothing.confidence < 0.6  # an unsure decision says so


def test_a_shop_topic_of_its_own(tmp_path: Path, catalogue: Catalogue) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text(
        "version: 7\nentries:\n  horario:\n    phrases: [horario de atencion]\n"
        "    keywords: [horario]\n    answer:\n      es: De 9 a 18.\n      en: 9 to 6.\n"
        "templates:\n  handoff_ack: {es: a, en: b}\n  holding: {es: c, en: d}\n",
        "utf-8",
    )
    book = load_faq(path)
    assert book.version == "7"
    decision = decide("", "¿Cuál es el horario de atención?", book, catalogue)
    assert (decision.route, decision.intent) == (Route.FAQ, "horario")


def test_faq_file_is_versioned_and_bilingual() -> None:
    book = load_faq()
    assert book.version == "2"
    assert {e.key for e in book.entries} == {"shipping", "payments", "returns", "sizes", "stock"}
    assert {e.topic for e in book.entries} == {e.key for e in book.entries}
    for entry in book.entries:
        assert entry.answers["es"]
        assert entry.answers["en"]
    assert book.template("holding", "en").startswith("Hello")


def test_faq_file_validation() -> None:
    with pytest.raises(ValueError, match="lacks an answer"):
        parse_faq({"entries": {"x": {"keywords": ["a"], "answer": {"es": "hola"}}}})
    with pytest.raises(ValueError, match="template"):
        parse_faq({"entries": {}, "templates": {}})


def test_cue_file_validation() -> None:
    with pytest.raises(ValueError, match="handoff rules missing"):
        parse_cues({"handoff": {}})


@pytest.mark.parametrize(
    ("pattern", "anchors"),
    [
        ("(hablar|charlar) con (una )?persona", {"hablar", "charlar"}),
        ("contracargo", {"contracargo"}),
        ("indignad[oa]", {"indignad"}),
        ("(en|in) (talle)? ?(m|\\d\\d)", {"en", "in"}),
        ("(mi )?pedido", None),  # an optional first word: no anchor, always tried
        ("#\\s*\\d{3,}", None),
    ],
)
def test_rule_anchors(pattern: str, anchors: set[str] | None) -> None:
    found = anchors_of(pattern)
    assert (set(found) if found else None) == anchors
