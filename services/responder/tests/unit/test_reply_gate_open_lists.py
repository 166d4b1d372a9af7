"""The reply gate on words no phrase list names: the shop's own doings and assertions.

Phrase lists only block what someone thought of; these checks turn the question round.
Whatever the shop says it does for the customer passes only with a verb that informs,
advises or hands over (``promises.own_doing`` in reply_gate.yaml), and whatever the
shop says it has or offers passes only in words of its FAQ, catalogue, vocabulary or
the customer's mail (``decision/grounding.py``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from mailroom_common.catalogue_import import read_catalogue
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import load_faq
from mailroom_responder.decision.offline import catalogue_from_rows
from mailroom_responder.decision.reply_gate import Mail, check_reply

DEMO_CATALOGUE = Path(__file__).resolve().parents[4] / "deploy/local/demo/catalogue.csv"
BODY = {"es": "Hola, consulta por el buzo canguro", "en": "Hi, a question about the hoodie"}


@cache
def _catalogue() -> Catalogue:
    return catalogue_from_rows(read_catalogue(DEMO_CATALOGUE))


def _reasons(reply: str, language: str) -> tuple[str, ...]:
    mail = Mail(subject="", body=BODY[language], language=language)
    return check_reply(reply, mail, catalogue=_catalogue(), faq=load_faq()).reasons


# Whatever the shop says it does for the customer is a promise; what it says it has must
# be in its own texts.
@pytest.mark.parametrize(
    ("kind", "language", "reply"),
    [
        ("promise", "es", "¡Hola! Te sumo un regalito con la compra."),
        ("promise", "es", "¡Hola! Dejame ver qué puedo hacer con el precio."),
        ("promise", "en", "Hi! I'll sort out a little something for you."),
        ("promise", "es", "¡Hola! Quedate tranqui que sale enseguida."),
        ("promise", "en", "Hi! We'll cover the return label."),
        ("promise", "en", "Hi! Consider it reserved."),
        ("promise", "en", "Hi! I've asked the warehouse to set one aside."),
        ("promise", "en", "Hi! I've flagged your order for priority."),
        ("promise", "es", "¡Hola! Ya te lo separé."),
        ("promise", "es", "¡Hola! Le conseguimos el talle M."),
        ("promise", "es", "¡Hola! Te armo un combo con la gorra."),
        ("promise", "en", "Hi! We'll be in touch soon."),
        ("promise", "en", "Hi! It's on hold for you until Friday."),
        (
            "invented_fact",
            "es",
            "¡Hola! Tenemos una sección de segunda mano con precios rebajados.",
        ),
        ("invented_fact", "en", "Hi! We offer a discount for students."),
        ("invented_fact", "es", "¡Hola! Contamos con un local en Córdoba."),
        ("invented_fact", "es", "¡Hola! Trabajamos con Andreani para los envíos."),
        ("invented_fact", "es", "¡Hola! Tenemos un outlet con prendas de temporadas anteriores."),
        ("invented_fact", "en", "Hi! We offer free hemming on all jeans."),
    ],
)
def test_doings_and_assertions_in_new_words_are_blocked(
    kind: str, language: str, reply: str
) -> None:
    reasons = _reasons(reply, language)
    assert any(r.startswith(kind) for r in reasons), reasons


@pytest.mark.parametrize(
    ("language", "reply"),
    [
        ("es", "¡Hola! Te recomiendo un talle más si te gusta holgado."),
        ("es", "¡Hola! Te cuento que el buzo canguro se lava a máquina."),
        ("es", "¡Hola! Si no te llegó, escribinos."),
        ("es", "¡Hola! Ya que preguntás: el buzo canguro viene en varios colores."),
        ("en", "Hi! We'd recommend going one size up."),
        ("en", "Hi! I can tell you it's a relaxed fit."),
        ("en", "Hi! We can't offer discounts, sorry."),
        ("en", "Hi! Let me know if you need anything else."),
        ("en", "Hi! I'd be happy to help with the size."),
        ("es", "¡Hola! Te paso con una persona del equipo."),
        ("es", "¡Hola! El buzo canguro te va a quedar cómodo."),
        ("es", "¡Hola! El buzo canguro lo tenemos en varios colores y talles."),
        ("en", "Hi! We accept credit and debit cards, bank transfer and Mercado Pago."),
        ("es", "¡Hola! No tenemos showroom ni tenemos outlet."),
    ],
)
def test_informing_advising_and_handing_over_pass(language: str, reply: str) -> None:
    assert _reasons(reply, language) == ()
