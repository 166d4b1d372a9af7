"""The shoppers' vocabulary (``lexicon.yaml``) and a mail's words found in it. Pure.

A *concept* is ``("garment", "campera")``, ``("attribute", "jean")``,
``("colour", "negro")``, ``("other", "malla")`` or, for a word of a product name that no
list knows, ``("word", "<stem>")``. Spanish and English words of one concept meet, so
"black denim jacket" and "campera de jean negra" find the same product.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mailroom_responder.decision.datafiles import read_yaml_mapping
from mailroom_responder.decision.text import tokens

__all__ = [
    "Concept",
    "Lexicon",
    "Mention",
    "default_lexicon",
    "load_lexicon",
    "parse_lexicon",
    "stem",
]

Concept = tuple[str, str]
KINDS = ("garments", "attributes", "colours")
_KIND_NAME = {"garments": "garment", "attributes": "attribute", "colours": "colour"}
# Words that never name anything on their own.
STOPWORDS = frozenset(
    [
        ",",
        "a",
        "al",
        "algo",
        "alguna",
        "alguno",
        "como",
        "con",
        "cual",
        "de",
        "del",
        "el",
        "en",
        "es",
        "esa",
        "ese",
        "esta",
        "este",
        "la",
        "las",
        "le",
        "lo",
        "los",
        "me",
        "mi",
        "mis",
        "no",
        "o",
        "para",
        "por",
        "que",
        "se",
        "si",
        "su",
        "sus",
        "te",
        "un",
        "una",
        "uno",
        "unos",
        "unas",
        "y",
        "ya",
        "the",
        "and",
        "an",
        "of",
        "in",
        "is",
        "are",
        "do",
        "does",
        "you",
        "have",
        "has",
        "for",
        "with",
        "what",
        "how",
        "it",
        "this",
        "that",
        "my",
        "i",
        "to",
        "on",
        "or",
        "at",
        "be",
        "by",
        "me",
        "your",
        "our",
        "we",
        "they",
        "them",
        "from",
        "x",
    ]
)


def stem(word: str) -> str:
    """Crude Spanish/English stem so "remeras"/"remera" and "negra"/"negro" meet."""
    base = word
    if base.endswith("es") and len(base) > 4 and base[-3] not in "aeiou":
        base = base[:-2]
    elif base.endswith("s") and len(base) > 3 and not base.endswith("ss"):
        base = base[:-1]
    if base[-1:] in ("a", "e", "o") and len(base) > 4 and base[-2] != "i":
        base = base[:-1]
    return base


@dataclass(frozen=True, slots=True)
class Mention:
    """A concept found in a mail: which words (``start``..``end``) and in which sentence."""

    concept: Concept
    sentence: int
    start: int
    end: int
    text: str


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one insertion, deletion or substitution."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass(frozen=True)
class Lexicon:
    version: str
    # first stem → [(stems of the phrase, concepts)], longest phrases first
    phrases: dict[str, list[tuple[tuple[str, ...], frozenset[Concept]]]]
    known: frozenset[str]  # stems of every listed word: never "corrected"
    _fuzzy: dict[str, str] = field(default_factory=dict, repr=False)
    # A listed word whose stem is this short matches as written (or with a plural "s")
    # only: the stem of "vans" is "van" ("ya van tres semanas"), of "hates" "hat".
    _exact: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def concepts_of(self, text: str) -> set[Concept]:
        """Every concept of a name or keyword list (no fuzzy matching)."""
        return {m.concept for m in self.find([tokens(text)], fuzzy=False)}

    def correct(self, word: str) -> str | None:
        """A listed stem one edit away from ``word`` (typos: "campra", "polera"), or None."""
        if len(word) < 6 or word in self.known:
            return None
        for candidate in (word, *_deletes(word)):
            hit = self._fuzzy.get(candidate)
            if hit is not None and hit[0] == word[0] and _one_edit(word, hit):
                return hit
        return None

    def find(self, sentences: list[list[str]], *, fuzzy: bool = True) -> list[Mention]:
        """Concept mentions in tokenised sentences; longest phrase wins at each position."""
        found: list[Mention] = []
        for s_index, words in enumerate(sentences):
            plain = [w.replace("'s", "").replace("'", "") for w in words]
            stems = [stem(w) for w in plain]
            if fuzzy:
                stems = [
                    s if s in self.phrases or w in STOPWORDS else (self.correct(s) or s)
                    for s, w in zip(stems, words, strict=True)
                ]
            i = 0
            while i < len(stems):
                matched = 0
                for phrase, concepts in self.phrases.get(stems[i], ()):
                    n = len(phrase)
                    forms = self._exact.get(stems[i]) if n == 1 else None
                    if forms is not None and plain[i] not in forms:
                        continue
                    if tuple(stems[i : i + n]) == phrase:
                        text = " ".join(words[i : i + n])
                        found.extend(Mention(c, s_index, i, i + n, text) for c in concepts)
                        matched = n
                        break
                i += matched or 1
        return found


_EXACT_MAX = 3


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in tokens(text))


def parse_lexicon(data: dict[str, Any]) -> Lexicon:
    table: dict[tuple[str, ...], set[Concept]] = defaultdict(set)
    exact: dict[str, set[str]] = defaultdict(set)

    def add(word: str, concept: Concept) -> None:
        phrase = _phrase(word)
        if phrase:
            table[phrase].add(concept)
        if len(phrase) == 1 and len(phrase[0]) <= _EXACT_MAX:
            form = " ".join(tokens(word)).replace("'", "")
            exact[phrase[0]] |= {form, form + "s"}

    for kind in KINDS:
        for name, words in (data.get(kind) or {}).items():
            for word in [name, *(words or [])]:
                add(str(word), (_KIND_NAME[kind], str(name)))
    for word in data.get("other_products") or []:
        add(str(word), ("other", " ".join(_phrase(str(word)))))
    styles = tuple(p for p in (_phrase(str(s)) for s in data.get("style_phrases") or []) if p)
    for phrase in styles:
        table[phrase].add(("style", " ".join(phrase)))
    phrases: dict[str, list[tuple[tuple[str, ...], frozenset[Concept]]]] = defaultdict(list)
    for phrase, concepts in table.items():
        phrases[phrase[0]].append((phrase, frozenset(concepts)))
    for options in phrases.values():
        options.sort(key=lambda item: -len(item[0]))
    known = {s for phrase in table for s in phrase}
    fuzzy: dict[str, str] = {}
    for word in sorted(known):
        if len(word) >= 5:
            for candidate in (word, *_deletes(word)):
                fuzzy.setdefault(candidate, word)
    return Lexicon(
        version=str(data.get("version", "0")),
        phrases=dict(phrases),
        known=frozenset(known | {stem(w) for w in data.get("known_words") or []}),
        _fuzzy=fuzzy,
        _exact={k: frozenset(v) for k, v in exact.items()},
    )


def load_lexicon(path: Path | None = None, *, extra_known: frozenset[str] = frozenset()) -> Lexicon:
    """Read the lexicon file (default: the packaged ``lexicon.yaml``)."""
    data = read_yaml_mapping("lexicon.yaml", path, "lexicon")
    data.setdefault("known_words", [])
    data["known_words"] = [*data["known_words"], *sorted(extra_known)]
    return parse_lexicon(data)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The packaged lexicon, read once on first use (never at import time)."""
    from mailroom_responder.decision.cues import default_cues

    return load_lexicon(extra_known=default_cues().words)
