"""The shop's FAQ file: answers per topic, fixed texts (I/O at start-up only).

Each entry answers one of the router's topics (``topic:``, else its key: shipping,
payments, returns, sizes, stock, or a topic of the shop's own); its ``keywords`` (weak
cues) and ``phrases`` (strong cues) are added to that topic's rules in ``cues.yaml``. Its
reply is one ``answer``, or a lead and facts of which a mail gets those it asks about
(``faq_facts.py``). The shop's paragraphs and line breaks are kept.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailroom_responder.decision.cues import Cues, default_cues
from mailroom_responder.decision.datafiles import read_yaml_mapping
from mailroom_responder.decision.faq_facts import (
    ANSWER_MAX_CHARS,
    LANGUAGES,
    FactSheet,
    SizedAnswer,
    bilingual,
    parse_sheet,
    select_answer,
)
from mailroom_responder.decision.model import RouteModel
from mailroom_responder.decision.text import tidy_paragraphs, tokens

__all__ = ["CATALOGUE_TEMPLATES", "FaqBook", "FaqEntry", "load_faq", "parse_faq"]

KEYWORD_WEIGHT = 0.5
PHRASE_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class FaqEntry:
    key: str
    keywords: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]
    # Everything the entry says, per language (for an entry written as facts: the lead
    # and every fact). What a mail gets is ``FaqBook.answer``.
    answers: dict[str, str]
    # The router's topic this entry answers (``topic:`` in the file, else its key).
    topic: str = ""
    # The lead and facts; None for an entry with a single answer.
    sheet: FactSheet | None = None


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(tokens(text))


@dataclass(frozen=True)
class FaqBook:
    version: str
    min_score: int
    entries: tuple[FaqEntry, ...]
    templates: dict[str, dict[str, str]]
    # Replies to price and stock questions (decision/answers.py); {}: the LLM answers.
    catalogue_templates: dict[str, dict[str, str]] = field(default_factory=dict)
    # The longest FAQ reply made of facts (``answer_max_chars`` in the file).
    answer_max_chars: int = ANSWER_MAX_CHARS
    # The router's model for this shop; None: the packaged one.
    route_model: RouteModel | None = field(default=None, compare=False, repr=False)
    _cues: list[Cues] = field(default_factory=list, compare=False, repr=False)

    @property
    def cues(self) -> Cues:
        """The router's rules plus this file's keywords and phrases, per topic."""
        if not self._cues:
            # A keyword is a weak cue, a phrase a strong one (as the file's header says).
            extra = {
                e.topic: [
                    *((k, KEYWORD_WEIGHT) for k in sorted(e.keywords)),
                    *((" ".join(p), PHRASE_WEIGHT) for p in e.phrases),
                ]
                for e in self.entries
            }
            self._cues.append(default_cues().with_topic_words(extra))
        return self._cues[0]

    def entry(self, key: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def entry_for(self, topic: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.topic == topic), None)

    def answer(self, entry: FaqEntry, text: str, language: str) -> SizedAnswer:
        """``entry``'s reply to a mail whose subject and new text are ``text``: the facts
        it asks about (all of them for a general question), within the budget."""
        return select_answer(entry, text, language, self.answer_max_chars)

    def template(self, name: str, language: str) -> str:
        texts = self.templates.get(name) or self.templates[OPTIONAL_TEMPLATES[name]]
        return texts.get(language) or texts["es"]


# Templates a FAQ file may leave out, and the one used instead: ``holding_wait`` is the
# holding reply sent while an answer is still coming (holding.py).
OPTIONAL_TEMPLATES = {"holding_wait": "holding"}


# Each catalogue template (decision/answers.py) and the fields it may use.
CATALOGUE_TEMPLATES: dict[str, frozenset[str]] = {
    "greeting": frozenset(),
    "closing": frozenset(),
    "price": frozenset({"product", "price"}),
    "price_range": frozenset({"product", "low", "high"}),
    "in_stock": frozenset({"product", "variants"}),
    "sold_out": frozenset({"product", "variants"}),
    "available": frozenset({"product", "variants"}),
    "none_available": frozenset({"product"}),
    "no_such_variant": frozenset({"product", "asked", "sizes", "colours"}),
    "category": frozenset({"category", "products"}),
    "not_carried": frozenset({"thing"}),
    "alternatives": frozenset({"products"}),
}


def _catalogue_templates(raw: Any) -> dict[str, dict[str, str]]:
    """The ``catalogue_templates`` section of the FAQ file; {} when the file has none (then
    every catalogue question goes to the LLM). ValueError when a template is missing, lacks
    a language or uses a field it does not have."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("FAQ catalogue_templates must be a mapping of name → {es, en}")
    unknown = sorted(set(raw) - set(CATALOGUE_TEMPLATES))
    if unknown:
        raise ValueError(f"FAQ catalogue_templates: unknown template(s) {unknown}")
    out: dict[str, dict[str, str]] = {}
    for name, allowed in CATALOGUE_TEMPLATES.items():
        texts = raw.get(name) or {}
        if not isinstance(texts, dict) or not all(
            str(texts.get(lang, "")).strip() for lang in LANGUAGES
        ):
            raise ValueError(f"FAQ catalogue template {name!r} needs es and en texts")
        out[name] = {}
        for lang in LANGUAGES:
            text = " ".join(str(texts[lang]).split())
            try:
                fields = {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f}
            except ValueError as exc:
                raise ValueError(f"FAQ catalogue template {name!r} ({lang}): {exc}") from None
            if fields - allowed:
                raise ValueError(
                    f"FAQ catalogue template {name!r} ({lang}) uses {sorted(fields - allowed)}; "
                    f"it may use {sorted(allowed) or 'no fields'}"
                )
            out[name][lang] = text
    return out


def _entry(key: str, raw: Any, max_chars: int) -> FaqEntry:
    where = f"FAQ entry {key!r}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping (keywords, phrases, answer or facts)")
    sheet = parse_sheet(where, raw, max_chars)
    return FaqEntry(
        key=key,
        keywords=frozenset(w for k in raw.get("keywords", []) for w in tokens(str(k))),
        phrases=tuple(_phrase(str(p)) for p in raw.get("phrases", [])),
        answers=sheet.whole() if sheet else bilingual(raw.get("answer"), where, "an answer"),
        topic=str(raw.get("topic") or key),
        sheet=sheet,
    )


def _max_chars(raw: Any) -> int:
    if raw is None:
        return ANSWER_MAX_CHARS
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 100:
        raise ValueError(f"FAQ answer_max_chars must be a whole number ≥ 100, not {raw!r}")
    return raw


def parse_faq(data: dict[str, Any]) -> FaqBook:
    max_chars = _max_chars(data.get("answer_max_chars"))
    entries = tuple(_entry(str(k), v, max_chars) for k, v in (data.get("entries") or {}).items())
    templates: dict[str, dict[str, str]] = {}
    for name in ("handoff_ack", "holding", *OPTIONAL_TEMPLATES):
        texts = (data.get("templates") or {}).get(name) or {}
        if name in OPTIONAL_TEMPLATES and not texts:
            continue
        if not all(str(texts.get(lang, "")).strip() for lang in LANGUAGES):
            raise ValueError(f"FAQ template {name!r} needs es and en texts")
        templates[name] = {lang: tidy_paragraphs(str(texts[lang])) for lang in LANGUAGES}
    return FaqBook(
        version=str(data.get("version", "0")),
        min_score=int(data.get("min_score", 1)),
        entries=entries,
        templates=templates,
        catalogue_templates=_catalogue_templates(data.get("catalogue_templates")),
        answer_max_chars=max_chars,
    )


def load_faq(path: Path | None = None) -> FaqBook:
    """Read the FAQ file (default: the packaged ``faq.yaml``); ValueError if malformed."""
    return parse_faq(read_yaml_mapping("faq.yaml", path, "FAQ"))
