"""FAQ answers sized to the question: an entry's lead line and the facts a mail asks about.

Pure. An FAQ entry may be written as facts instead of one ``answer`` (faq.yaml)::

    sizes:
      lead: {es: "…", en: "…"}              # optional: always said first
      facts:
        - id: between
          triggers:
            es: [entre, "mas grande", "dos talles"]
            en: [between, larger, "size up"]
          text: {es: "Si estás entre dos talles, …", en: "If you are between …"}

``select_answer`` gives the lead and the facts whose triggers occur in the mail (its subject
and new text). Triggers match on folded text (accents and case ignored) as whole words; a
phrase matches its words in a row; a word ending in ``*`` matches every word it begins
(``medi*``: medir, medida, medidas); the triggers of both languages count for every mail.
When no fact is asked about (a general question: "¿cómo son los envíos?") the reply is the
lead and every fact. Facts keep the file's order and the shop's line breaks, a paragraph
each.

Budget: a reply holds at most ``answer_max_chars`` characters (the FAQ file's setting,
``ANSWER_MAX_CHARS`` = 600 by default). A fact that would take it past that is left out
(facts are taken in the file's order), and the file is refused when the lead and any one
fact alone pass it, so every fact can be given when it is asked. An entry with a single
``answer`` is sent as written, whatever was asked (as before facts existed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mailroom_responder.decision.text import tidy_paragraphs, tokens

if TYPE_CHECKING:
    from mailroom_responder.decision.faq import FaqEntry

__all__ = [
    "ANSWER_MAX_CHARS",
    "LANGUAGES",
    "FactSheet",
    "FaqFact",
    "SizedAnswer",
    "Trigger",
    "bilingual",
    "parse_sheet",
    "select_answer",
]

LANGUAGES = ("es", "en")
ANSWER_MAX_CHARS = 600
MIN_STEM = 3  # "medi*" yes, "me*" no: a shorter stem matches half the language
PARAGRAPH = "\n\n"
_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_FACT_KEYS = frozenset({"id", "triggers", "text"})


@dataclass(frozen=True, slots=True)
class Trigger:
    """A word or phrase, folded; ``prefix[i]``: word ``i`` ended in ``*``."""

    words: tuple[str, ...]
    prefix: tuple[bool, ...]

    def pattern(self) -> str:
        """A regular expression over the mail's words joined by single spaces."""
        return " ".join(
            re.escape(w) + ("[a-z0-9ñ]*" if p else "")
            for w, p in zip(self.words, self.prefix, strict=True)
        )


@dataclass(frozen=True, slots=True)
class FaqFact:
    id: str
    triggers: tuple[Trigger, ...]
    texts: dict[str, str]
    # Every trigger at once, as whole words (one search per fact and mail: the FAQ path
    # answers hundreds of mails a second).
    _found: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        either = "|".join(t.pattern() for t in self.triggers)
        object.__setattr__(self, "_found", re.compile(f"(?:^| )(?:{either})(?= |$)"))

    def asked_in(self, words: str) -> bool:
        """``words``: the mail's folded words, joined by single spaces."""
        return self._found.search(words) is not None


@dataclass(frozen=True, slots=True)
class FactSheet:
    """An entry written as facts: the lead ({} when none) and the facts, in file order."""

    lead: dict[str, str]
    facts: tuple[FaqFact, ...]

    def whole(self) -> dict[str, str]:
        """Everything the entry says, per language (the lead and every fact)."""
        return {lang: _join(self.lead.get(lang, ""), self.facts, lang) for lang in LANGUAGES}


@dataclass(frozen=True, slots=True)
class SizedAnswer:
    text: str
    key: str
    facts: tuple[str, ...] = ()  # ids of the facts given; () for a single-text entry
    general: bool = False  # no fact was asked about: all of them (within the budget)

    @property
    def label(self) -> str:
        """ "sizes (facts: guide)", "shipping (facts: timing, cost; none asked)", "sizes"."""
        if not self.facts:
            return self.key
        none = "; none asked" if self.general else ""
        return f"{self.key} (facts: {', '.join(self.facts)}{none})"


def _join(lead: str, facts: Sequence[FaqFact], lang: str) -> str:
    return PARAGRAPH.join(p for p in (lead, *(f.texts[lang] for f in facts)) if p)


def select_answer(
    entry: FaqEntry, text: str, language: str, max_chars: int = ANSWER_MAX_CHARS
) -> SizedAnswer:
    """The reply of ``entry`` to a mail whose subject and new text are ``text``."""
    lang = "en" if language == "en" else "es"
    sheet = entry.sheet
    if sheet is None:
        return SizedAnswer(entry.answers[lang], entry.key)
    words = " ".join(tokens(text))
    asked = [f for f in sheet.facts if f.asked_in(words)]
    chosen = asked or list(sheet.facts)
    lead = sheet.lead.get(lang, "")
    given: list[FaqFact] = []
    for fact in chosen:
        if len(_join(lead, [*given, fact], lang)) <= max_chars:
            given.append(fact)
    given = given or chosen[:1]  # a budget below the file's: still say what was asked
    return SizedAnswer(
        _join(lead, given, lang), entry.key, tuple(f.id for f in given), general=not asked
    )


# --- reading the file ------------------------------------------------------------------


def bilingual(raw: Any, where: str, what: str = "a text") -> dict[str, str]:
    """``{es, en}`` texts, whitespace tidied with the shop's line breaks kept."""
    if raw is not None and not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping of es and en texts, not {raw!r}")
    texts = raw or {}
    unknown = sorted(str(k) for k in texts if k not in LANGUAGES)
    if unknown:
        raise ValueError(f"{where}: unknown language(s) {unknown}; use {list(LANGUAGES)}")
    missing = [
        lang
        for lang in LANGUAGES
        if not isinstance(texts.get(lang), str) or not texts[lang].strip()
    ]
    if missing:
        raise ValueError(f"{where} lacks {what} in {missing}")
    return {lang: tidy_paragraphs(texts[lang]) for lang in LANGUAGES}


def _trigger(where: str, raw: Any) -> Trigger:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"{where}: a trigger is a word or phrase, not {raw!r}")
    words: list[str] = []
    prefix: list[bool] = []
    for piece in raw.split():
        star = piece.endswith("*")
        found = tokens(piece.rstrip("*"))
        if star and (len(found) != 1 or len(found[0]) < MIN_STEM):
            raise ValueError(
                f"{where}: trigger {raw!r}: '*' ends one word of at least {MIN_STEM} "
                "letters (medi*)"
            )
        words += found
        prefix += [False] * (len(found) - 1) + [star] if found else []
    if not words:
        raise ValueError(f"{where}: trigger {raw!r} has no letters or digits")
    return Trigger(tuple(words), tuple(prefix))


def _triggers(where: str, raw: Any) -> tuple[Trigger, ...]:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: triggers must be a mapping of es and en lists of words")
    unknown = sorted(str(k) for k in raw if k not in LANGUAGES)
    if unknown:
        raise ValueError(f"{where}: triggers in unknown language(s) {unknown}")
    out: list[Trigger] = []
    for lang in LANGUAGES:
        listed = raw.get(lang)
        if not isinstance(listed, list) or not listed:
            raise ValueError(f"{where} needs a list of {lang} triggers (words or phrases)")
        out += [_trigger(f"{where} ({lang})", t) for t in listed]
    return tuple(out)


def _fact(where: str, raw: Any, seen: set[str]) -> FaqFact:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: each fact is a mapping with id, triggers and text")
    unknown = sorted(str(k) for k in raw if k not in _FACT_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; a fact has id, triggers, text")
    fact_id = raw.get("id")
    if not isinstance(fact_id, str) or not _ID_RE.match(fact_id):
        raise ValueError(
            f"{where}: id must be lower-case letters, digits, '-' or '_', not {fact_id!r}"
        )
    if fact_id in seen:
        raise ValueError(f"{where}: id {fact_id!r} is used twice")
    seen.add(fact_id)
    where = f"{where} {fact_id!r}"
    return FaqFact(
        fact_id, _triggers(where, raw.get("triggers")), bilingual(raw.get("text"), where)
    )


def parse_sheet(where: str, raw: dict[str, Any], max_chars: int) -> FactSheet | None:
    """The entry's lead and facts; None for an entry with a single ``answer``."""
    if "facts" not in raw and "lead" not in raw:
        return None
    if "answer" in raw:
        raise ValueError(f"{where} has both an answer and facts: write one or the other")
    facts_raw = raw.get("facts")
    if not isinstance(facts_raw, list) or not facts_raw:
        raise ValueError(f"{where}: facts must be a non-empty list (a lead needs facts)")
    lead = bilingual(raw["lead"], f"{where} lead") if raw.get("lead") is not None else {}
    seen: set[str] = set()
    facts = tuple(_fact(f"{where} fact {i}", f, seen) for i, f in enumerate(facts_raw, 1))
    for fact in facts:
        for lang in LANGUAGES:
            size = len(_join(lead.get(lang, ""), [fact], lang))
            if size > max_chars:
                raise ValueError(
                    f"{where}: the lead and fact {fact.id!r} ({lang}) are {size} characters; "
                    f"a reply holds at most {max_chars} (answer_max_chars): shorten them"
                )
    return FactSheet(lead, facts)
