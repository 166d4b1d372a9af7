"""The reply gate on stock said as an impression and on replies in a third language."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from mailroom_common.catalogue_import import read_catalogue
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import load_faq
from mailroom_responder.decision.languages import other_language
from mailroom_responder.decision.number_words import spoken_prices
from mailroom_responder.decision.offline import catalogue_from_rows
from mailroom_responder.decision.reply_gate import Mail, check_reply
from mailroom_responder.decision.reply_words import amount_said

DEMO_CATALOGUE = Path(__file__).resolve().parents[4] / "deploy/local/demo/catalogue.csv"


@cache
def _catalogue() -> Catalogue:
    return catalogue_from_rows(read_catalogue(DEMO_CATALOGUE))


def _reasons(reply: str, body: str, language: str = "es") -> tuple[str, ...]:
    mail = Mail(subject="", body=body, language=language)
    return check_reply(reply, mail, catalogue=_catalogue(), faq=load_faq()).reasons


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("quedan 3", (3, 3)),
        ("queda poquito", (1, 4)),
        ("it s running low", (1, 4)),
        ("hay de sobra", (5, 10**9)),
        ("tenemos un monton", (5, 10**9)),
        ("there s plenty", (5, 10**9)),
        ("tenemos el buzo en gris", None),
    ],
)
def test_stock_said_as_a_count_or_an_impression(text: str, said: tuple[int, int] | None) -> None:
    assert amount_said(text) == said


# Demo catalogue: Remera rayada azul M has 8; Buzo canguro gris M has 4, gris S has 1.
@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("¡Hola! La remera rayada azul en M la tenemos, hay de sobra. Sale $14.500.", "send"),
        ("¡Hola! La remera rayada azul en M la tenemos, pero queda poquito.", "block"),
        ("¡Hola! El buzo canguro gris en M está agotadísimo.", "block"),
        ("¡Hola! El buzo canguro gris en S lo tenemos, pero queda poquito.", "send"),
        ("¡Hola! El buzo canguro gris en S lo tenemos, hay de sobra.", "block"),
    ],
)
def test_an_impression_of_stock_must_fit_the_stock(reply: str, verdict: str) -> None:
    reasons = _reasons(reply, "Hola, ¿tienen stock?")
    assert ("send" if not reasons else "block") == verdict, reasons


@pytest.mark.parametrize(
    ("reply", "want", "said"),
    [
        ("Olá! A campera de jean vem só em azul, e temos tamanho M. Obrigado!", "es", "pt"),
        ("Hallo! Ja, die Jean gibt es in Größe 40, sie kostet ARS 35.900.", "en", "de"),
        ("Hoi! Ja, de grijze jogger is op voorraad in maat M, voor ARS 24.900.", "en", "nl"),
        (
            "¡Hola! Orders leave within 48 business hours and usually take 3 to 7 business "
            "days to arrive. ¡Saludos!",
            "es",
            "en",
        ),
        ("Hi! The Short de jean in white, 38: in stock. Have fun at the festival!", "en", None),
        ("¡Hola! Sí, la campera de jean en M la tenemos, sale $54.900.", "es", None),
    ],
)
def test_a_reply_in_another_language_is_found(reply: str, want: str, said: str | None) -> None:
    names = frozenset({"short", "de", "jean", "campera"})
    assert other_language(reply, want, names) == said


@pytest.mark.parametrize(
    ("text", "figures"),
    [
        ("cuesta treinta y tres mil novecientos pesos", "cuesta 33.900 pesos"),
        ("it's thirty-two thousand nine hundred pesos", "it's 32.900 pesos"),
        ("sale quince mil novecientos", "sale 15.900"),
        ("¡mil gracias!", "¡mil gracias!"),
        ("llevate dos remeras y un buzo", "llevate dos remeras y un buzo"),
        ("only one left", "only one left"),
    ],
)
def test_prices_in_words_are_read_as_figures(text: str, figures: str) -> None:
    assert spoken_prices(text) == figures


# Demo catalogue: Sweater de trenzas 38.900, Cardigan de hilo 33.900; Camisa oxford 27.900,
# Pollera de jean 27.900, Camisa de lino 31.900.
@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("¡Hola! El sweater de trenzas cuesta treinta y ocho mil novecientos pesos.", "send"),
        ("¡Hola! El sweater de trenzas cuesta treinta y tres mil novecientos pesos.", "block"),
        ("Hi! Both are ARS 27,900, the Camisa oxford and the Pollera de jean.", "send"),
        ("Hi! Both are ARS 27,900, the Camisa oxford and the Camisa de lino.", "block"),
    ],
)
def test_a_price_in_words_or_for_both_products_is_checked(reply: str, verdict: str) -> None:
    english = reply.startswith("Hi")
    reasons = _reasons(
        reply, "Hi, prices?" if english else "Hola, ¿precio?", "en" if english else "es"
    )
    assert ("send" if not reasons else "block") == verdict, reasons


# Demo catalogue: Pollera plisada beige M has 0, negro L has 3.
@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        ("Hola, ¿tenéis la falda plisada beis en M?", "block"),
        ("Hola, ¿tenés la pollera plisada negra en L?", "send"),
    ],
)
def test_a_bare_yes_claims_stock_for_what_the_mail_asked(body: str, verdict: str) -> None:
    reasons = _reasons("¡Hola! Sí hay, te esperamos.", body)
    assert ("send" if not reasons else "block") == verdict, reasons
