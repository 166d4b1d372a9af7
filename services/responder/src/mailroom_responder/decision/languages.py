"""Is a reply in a language other than the customer's, though ``detect_language`` (which
only tells Spanish from English) says it is? Pure.

Two ways a model slips: it answers in a third language (Portuguese, portuñol, Catalan,
Italian, French, German, Dutch: a Spanish or English reading of it finds a few words of
the right language and calls it that), or it writes the body in the wrong one under a
greeting and a sign-off in the right one ("¡Hola! Orders leave within 48 business
hours… ¡Saludos!").
"""

from __future__ import annotations

import re

from mailroom_responder.decision.text import language_scores, tokens

__all__ = ["other_language"]


# Words common in each language and absent from Spanish and English (folded).
def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_MARKERS: dict[str, frozenset[str]] = {
    "pt": _set(
        "nao voce voces obrigado obrigada tambem muito muita uma umas essa esse isso "
        "estao vem temos tamanho tamanhos cor cores ola disponivel entao ainda em pela pelo "
        "com"
    ),
    "ca": _set(
        "tenim teniu amb molt moltes gracies aquesta aquest tambe doncs nomes estem som "
        "samarreta ratllada blava costa perque"
    ),
    "it": _set(
        "il della delle dello sono grazie abbiamo anche questo questa gli perche siamo "
        "ciao taglia costa disponibili nella nel"
    ),
    "fr": _set(
        "est nous avons vous avec merci aussi oui bonjour une des du pas je taille disponible coute"
    ),
    "de": _set(
        "ist und nicht wir haben gibt kostet der die das mit fur auch ich ihr danke "
        "grosse hallo ja sie"
    ),
    "nl": _set(
        "het een voor voorraad maat niet wij hebben bedankt groetjes graag ook van hoi grijze zijn"
    ),
}
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_BODY_MIN_WORDS = 4  # shorter sentences (greetings, sign-offs) do not count


def other_language(reply: str, want: str, names: frozenset[str] = frozenset()) -> str | None:
    """The language the reply is mostly in when it is not ``want``; None when it is.
    ``names`` are the words of the shop's product names (Spanish in an English reply)."""
    words = tokens(reply)
    best, hits = None, 2
    for language, markers in _MARKERS.items():
        n = sum(w in markers for w in words)
        if n > hits:
            best, hits = language, n
    if best is not None and hits * 8 >= len(words):
        return best
    per = {"es": 0, "en": 0}
    for sentence in _SENTENCES.split(reply):
        own = [w for w in tokens(sentence) if w not in names and not w.isdigit()]
        if len(own) >= _BODY_MIN_WORDS:
            marks = "".join(ch for ch in sentence if ch in "¿¡")
            es, en = language_scores(marks + " ".join(own))
            if es != en:  # a sentence with no leaning either way says nothing
                per["es" if es > en else "en"] += len(own)
    other = "en" if want == "es" else "es"
    return other if per[other] > per[want] else None
