"""Catalogue answers from templates and live figures (decision/answers.py): pure."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from mailroom_common.catalogue_import import read_catalogue
from mailroom_responder.decision.answers import catalogue_answer, money
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import CATALOGUE_TEMPLATES, FaqBook, load_faq, parse_faq
from mailroom_responder.decision.offline import catalogue_from_rows
from mailroom_responder.decision.routing import decide

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def shop() -> tuple[FaqBook, Catalogue]:
    rows = read_catalogue(ROOT / "deploy/local/demo/catalogue.csv")
    return load_faq(None), catalogue_from_rows(rows)


def _answer(shop: tuple[FaqBook, Catalogue], text: str, subject: str = "") -> str | None:
    faq, catalogue = shop
    decision = decide(subject, text, faq, catalogue)
    answer = catalogue_answer(decision, catalogue, faq, decision.language)
    return answer.text if answer is not None else None


def test_money_formats() -> None:
    assert money(Decimal("12900.00"), "ARS", "es") == "$ 12.900"
    assert money(Decimal("12900.50"), "ARS", "es") == "$ 12.900,50"
    assert money(Decimal("12900"), "ARS", "en") == "ARS 12,900"


def test_a_price_with_what_is_in_stock(shop: tuple[FaqBook, Catalogue]) -> None:
    text = _answer(shop, "Hola, ¿cuánto sale la remera básica?")
    assert text is not None
    assert "Remera básica algodón: $ 12.900." in text
    # In the demo file: blanco S and XL, negro L, gris M are at 0.
    assert "blanco (M, L)" in text
    assert "negro (S, M, XL)" in text


def test_a_sold_out_variant_is_said_so(shop: tuple[FaqBook, Catalogue]) -> None:
    text = _answer(shop, "¿Tienen la remera básica en negro talle L?")
    assert text is not None
    assert "En talle L negro está agotado por ahora." in text
    assert "Tenemos stock" not in text


def test_an_english_mail_about_a_spanish_name(shop: tuple[FaqBook, Catalogue]) -> None:
    text = _answer(shop, "Do you have the denim jacket in L? How much is it?")
    assert text is not None
    assert text.startswith("Hello")
    assert "Campera de jean: ARS 54,900." in text
    assert "We have it in stock in size L blue." in text


def test_a_size_the_product_does_not_come_in(shop: tuple[FaqBook, Catalogue]) -> None:
    text = _answer(shop, "hola tienen la camisa oxford en xxl?")
    assert text is not None
    assert "No viene en XXL" in text
    assert "S, M, L y XL" in text


def test_two_products_each_with_its_own_size(shop: tuple[FaqBook, Catalogue]) -> None:
    text = _answer(shop, "cuanto salen la remera basica y el jogger de frisa? el jogger en gris L")
    assert text is not None
    remera, jogger = text.split("\n\n")[1:3]
    assert remera.startswith("Remera básica algodón: $ 12.900.")
    assert "Hay stock en" in remera  # no size asked of it: the whole picture
    assert jogger.startswith("Jogger de frisa: $ 24.900.")
    assert "talle L gris" in jogger


def test_a_product_question_plus_a_policy_gets_both(shop: tuple[FaqBook, Catalogue]) -> None:
    text = _answer(shop, "¿Cuánto sale el jean mom? ¿Y cuánto tarda el envío a Córdoba?")
    assert text is not None
    assert "Jean mom: $ 39.900." in text
    assert "Hacemos envíos a todo el país" in text


def test_a_kind_the_shop_does_not_sell(shop: tuple[FaqBook, Catalogue]) -> None:
    text = _answer(shop, "¿tienen trajes de baño?")
    assert text is not None
    assert "Por ahora no vendemos trajes de baño." in text


@pytest.mark.parametrize(
    "mail",
    [
        "¿El jean mom es de tela rígida o elastizada?",  # material: the LLM
        "¿Cómo calza la campera de jean? ¿Viene grande?",  # fit: the LLM
        "¿Qué me recomiendan para un casamiento de día?",  # advice, no product
    ],
)
def test_open_questions_are_left_to_the_llm(shop: tuple[FaqBook, Catalogue], mail: str) -> None:
    assert _answer(shop, mail) is None


def test_a_faq_file_without_templates_leaves_everything_to_the_llm(
    shop: tuple[FaqBook, Catalogue],
) -> None:
    faq, catalogue = shop
    bare = dataclasses.replace(faq, catalogue_templates={})
    decision = decide("", "¿cuánto sale la remera básica?", bare, catalogue)
    assert catalogue_answer(decision, catalogue, bare, "es") is None


def test_a_template_with_an_unknown_field_is_refused() -> None:
    texts = {"es": "x", "en": "x"}
    raw = {name: dict(texts) for name in CATALOGUE_TEMPLATES}
    raw["price"] = {"es": "{product}: {precio}", "en": "{product}: {price}"}
    base = {
        "entries": {},
        "templates": {
            "handoff_ack": {"es": "a", "en": "a"},
            "holding": {"es": "b", "en": "b"},
        },
    }
    with pytest.raises(ValueError, match="precio"):
        parse_faq({**base, "catalogue_templates": raw})
    with pytest.raises(ValueError, match="greeting"):
        parse_faq({**base, "catalogue_templates": {"price": raw["price"]}})


def test_templates_on_the_test_split_state_no_wrong_figure() -> None:
    """bench/catalogue_answers.py on the routing test split (measured 2026-12-02: 26.7 %
    of mails need an LLM call, 187 templated replies, 0 wrong figures, 0 about a product
    not asked about, recall@excerpt 98.3 %, longest excerpt 1821 chars)."""
    corpus = sorted((ROOT / "bench/data/routing").glob("test*.jsonl"))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench/catalogue_answers.py"), *map(str, corpus), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    figures = json.loads(proc.stdout)
    assert figures["mails"] >= 1000
    assert figures["templated_replies"] >= 150
    assert figures["templated_wrong_figure"] == 0, figures["wrong_ids"]
    assert figures["templated_other_product"] <= 2, figures["other_product_ids"]
    assert figures["llm_share"] <= 0.30
    assert figures["excerpt_recall"] >= 0.95
    assert figures["longest_excerpt"] <= 2000
