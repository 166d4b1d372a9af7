"""What the shop says it has or does, held against what it knows. Pure.

The phrase lists of ``reply_gate.yaml`` name the policies a model tends to invent; a
model writing for a new shop finds others ("tenemos una sección outlet", "we offer a
student discount", "contamos con un local en Córdoba"). So a reply sentence in which the
shop asserts what it has, offers, accepts or does passes only when every content word of
what it asserts is one the shop's own texts use: the FAQ, the catalogue (names,
categories, colours, descriptions, keywords), the shop's vocabulary (the lexicon) or
the customer's mail. A word nobody gave the model is a fact it made up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.lexicon import STOPWORDS, stem
from mailroom_responder.decision.text import tokens

__all__ = ["known_stems", "unsupported_assertions"]

# The shop speaking of itself: what it has, offers, accepts, does, sells.
_ASSERTS = re.compile(
    r"\b(?:tenemos|contamos con|ofrecemos|aceptamos|trabajamos con|manejamos|brindamos|"
    r"disponemos de|vendemos|hacemos|realizamos|we (?:also )?(?:have|offer|accept|sell|"
    r"provide|carry|run|do|make|work with|ve got)|our shop (?:has|offers)|"
    r"la tienda (?:tiene|ofrece)|el local (?:tiene|ofrece))\b"
)
_NEGATED = re.compile(r"\b(?:no|ni|nunca|not|todavia no|aun no|tampoco)\s+$")
# Where the asserted thing ends.
_CLAUSE_END = re.compile(
    r"[,;:.!?()—–-]|\b(?:y|and|que|pero|but|which|that|so|asi que|porque|because|aunque|though)\b"
)


def known_stems(catalogue: Catalogue, *texts: str) -> frozenset[str]:
    """Stems of every word the shop's data and the mail use: what a reply may assert."""
    words = {
        s
        for options in catalogue.vocabulary.phrases.values()
        for phrase, concepts in options
        if any(kind != "other" for kind, _ in concepts)  # not what the shop does not sell
        for s in phrase
    }
    for p in catalogue.products:
        words.update(_stems((p.name, p.category, p.keywords, p.description)))
        words.update(_stems(v.colour for v in p.variants))
    words.update(_stems(texts))
    return frozenset(words)


def _stems(texts: Iterable[str]) -> set[str]:
    return {stem(t) for text in texts for t in tokens(text)}


def unsupported_assertions(
    sentences: list[str], known: frozenset[str], plain: frozenset[str]
) -> list[str]:
    """``invented_fact`` reasons for sentences (folded) asserting what nobody said.

    ``plain`` are stems of words any answer about clothes and orders may use unsourced
    ("stock", "talle", "colores", "quedan"): ``plain_words`` in reply_gate.yaml."""
    out: list[str] = []
    for s in sentences:
        for m in _ASSERTS.finditer(s):
            if _NEGATED.search(s[: m.start()]):
                continue
            claim = _CLAUSE_END.split(s[m.end() :], maxsplit=1)[0]
            new = [
                w
                for w in tokens(claim)
                if len(w) > 3
                and not w.isdigit()
                and w not in STOPWORDS
                and stem(w) not in known
                and stem(w) not in plain
            ]
            if new:
                out.append(f"invented_fact: '{m.group(0)} … {new[0]}' is in no shop text")
                break
        if len(out) >= 2:
            break
    return out
