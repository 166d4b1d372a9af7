"""Routing: handoff rules, FAQ without misfires, product questions to the catalogue."""

from __future__ import annotations

import pytest

from mailroom_common.events import Route
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook, load_faq, parse_faq
from mailroom_responder.decision.routing import decide, handoff_reason


@pytest.mark.parametrize(
    ("text", "route", "intent"),
    [
        ("¿Qué precio tiene el jean mom?", Route.CATALOGUE, "price"),
        ("¿tienen la remera en talle M?", Route.CATALOGUE, "stock"),
        ("Hola, ¿hay stock de la campera puffer verde?", Route.CATALOGUE, "stock"),
        ("How much is the Jean Recto?", Route.CATALOGUE, "price"),
        ("¿Hacen envíos a Córdoba?", Route.FAQ, "shipping"),
        ("¿Cuánto tarda en llegar?", Route.FAQ, "shipping"),
        ("¿Cuánto sale el envío?", Route.FAQ, "shipping"),
        ("¿Qué medios de pago aceptan? ¿Puedo pagar en cuotas?", Route.FAQ, "payments"),
        ("Do you accept credit card payments?", Route.FAQ, "payments"),
        ("¿Cómo hago un cambio de talle?", Route.FAQ, "returns"),
        ("What is your return policy?", Route.FAQ, "returns"),
        ("¿Tienen una guía de talles?", Route.FAQ, "sizes"),
        ("¿Dónde veo la guía de talles?", Route.FAQ, "sizes"),
        ("¿Cuándo reponen stock?", Route.FAQ, "stock"),
        ("¿Qué precio tiene el vestido floreado?", Route.CATALOGUE, "price"),
        ("Me encanta la remera básica", Route.CATALOGUE, "product"),
        ("¿Abren el local el sábado?", Route.LLM, "general"),
    ],
)
def test_routes(text: str, route: Route, intent: str, faq: FaqBook, catalogue: Catalogue) -> None:
    decision = decide(text, faq, catalogue)
    assert (decision.route, decision.intent) == (route, intent)


def test_the_seeds_two_misfires_are_not_faq(faq: FaqBook, catalogue: Catalogue) -> None:
    # The seed matched substrings: "precio" gave the payments block, "talle" the size guide.
    for text in ("¿Qué precio tiene el jean mom?", "¿tienen la remera en talle M?"):
        for cat in (catalogue, Catalogue()):  # even with no catalogue match
            assert decide(text, faq, cat).route is not Route.FAQ


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Quiero hablar con una persona, por favor", "human_requested"),
        ("Can I talk to a person?", "human_requested"),
        ("Esto es una estafa, estoy indignado", "angry"),
        ("QUIERO UNA RESPUESTA YA MISMO NADIE CONTESTA", "angry"),
        ("Quiero el reembolso de mi dinero", "refund_dispute"),
        ("I want a refund", "refund_dispute"),
        ("Voy a iniciar un contracargo con la tarjeta", "chargeback"),
        ("Mi abogado se va a comunicar", "legal"),
        ("I will take legal action", "legal"),
        ("La campera llegó rota", "damaged_goods"),
        ("The jeans arrived damaged", "damaged_goods"),
        ("¿Dónde está mi pedido #1234?", "needs_order_or_account"),
        ("mi pedido no llegó", "needs_order_or_account"),
        ("Where is my order?", "needs_order_or_account"),
        ("Order 88812 status", "needs_order_or_account"),
        ("No puedo entrar a mi cuenta", "needs_order_or_account"),
    ],
)
def test_handoff_rules(text: str, reason: str, faq: FaqBook, catalogue: Catalogue) -> None:
    assert handoff_reason(text) == reason
    decision = decide(text, faq, catalogue)
    assert decision.route is Route.HANDOFF
    assert decision.reason == reason


@pytest.mark.parametrize(
    "text",
    [
        "¿Tienen jeans en talle 40?",
        "Gracias, ¡saludos!",
        "Quiero saber si el sueldo alcanza",  # "sue" is not "sue you"
        "Hay mucha demanda de camperas",
    ],
)
def test_no_false_handoff(text: str) -> None:
    assert handoff_reason(text) is None


def test_faq_file_is_versioned_and_bilingual() -> None:
    book = load_faq()
    assert book.version == "1"
    assert {e.key for e in book.entries} == {"shipping", "payments", "returns", "sizes", "stock"}
    for entry in book.entries:
        assert entry.answers["es"]
        assert entry.answers["en"]
    assert book.template("holding", "en").startswith("Hello")


def test_faq_file_validation() -> None:
    with pytest.raises(ValueError, match="lacks an answer"):
        parse_faq({"entries": {"x": {"keywords": ["a"], "answer": {"es": "hola"}}}})
    with pytest.raises(ValueError, match="template"):
        parse_faq({"entries": {}, "templates": {}})


def test_faq_path_override(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / "faq.yaml"
    path.write_text(
        "version: 7\nentries:\n  horario:\n    keywords: [horario]\n    answer:\n"
        "      es: De 9 a 18.\n      en: 9 to 6.\ntemplates:\n"
        "  handoff_ack: {es: a, en: b}\n  holding: {es: c, en: d}\n",
        "utf-8",
    )
    book = load_faq(path)
    assert book.version == "7"
    match = book.match("¿Cuál es el horario?")
    assert match is not None
    assert match.entry.key == "horario"


def test_settings_accept_the_legacy_groq_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailroom_responder.settings import GroqSettings, ResponderSettings

    monkeypatch.setenv("GROQ_API_KEY", "k")
    monkeypatch.setenv("GROQ_MODEL_NAME", "llama-3.1-8b-instant")
    monkeypatch.setenv("RESPONDER_RETRY_DELAYS_S", "[1, 2, 3]")
    groq = GroqSettings()
    assert groq.model_name == "llama-3.1-8b-instant"
    assert groq.api_key.get_secret_value() == "k"
    assert ResponderSettings().retry_delays_s == [1.0, 2.0, 3.0]
    monkeypatch.setenv("RESPONDER_RETRY_DELAYS_S", "[0]")
    with pytest.raises(ValueError, match="all > 0"):
        ResponderSettings()
