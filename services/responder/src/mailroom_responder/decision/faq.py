"""The shop's FAQ file: answers per topic, fixed texts (I/O at start-up only).

Each entry answers one of the router's topics (``topic:``, else its key: shipping,
payments, returns, sizes, stock, or a topic of the shop's own); its ``keywords`` (weak
cues) and ``phrases`` (strong cues) are added to that topic's rules in ``cues.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailroom_responder.decision.cues import Cues, default_cues
from mailroom_responder.decision.datafiles import read_yaml_mapping
from mailroom_responder.decision.model import RouteModel
from mailroom_responder.decision.text import tokens

__all__ = ["FaqBook", "FaqEntry", "load_faq", "parse_faq"]

LANGUAGES = ("es", "en")
KEYWORD_WEIGHT = 0.5
PHRASE_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class FaqEntry:
    key: str
    keywords: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]
    answers: dict[str, str]
    # The router's topic this entry answers (``topic:`` in the file, else its key).
    topic: str = ""


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(tokens(text))


@dataclass(frozen=True)
class FaqBook:
    version: str
    min_score: int
    entries: tuple[FaqEntry, ...]
    templates: dict[str, dict[str, str]]
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

    def template(self, name: str, language: str) -> str:
        texts = self.templates[name]
        return texts.get(language) or texts["es"]


def _entry(key: str, raw: dict[str, Any]) -> FaqEntry:
    answers = raw.get("answer") or {}
    missing = [lang for lang in LANGUAGES if not str(answers.get(lang, "")).strip()]
    if missing:
        raise ValueError(f"FAQ entry {key!r} lacks an answer in {missing}")
    return FaqEntry(
        key=key,
        keywords=frozenset(w for k in raw.get("keywords", []) for w in tokens(str(k))),
        phrases=tuple(_phrase(str(p)) for p in raw.get("phrases", [])),
        answers={lang: " ".join(str(answers[lang]).split()) for lang in LANGUAGES},
        topic=str(raw.get("topic") or key),
    )


def parse_faq(data: dict[str, Any]) -> FaqBook:
    entries = tuple(_entry(k, v) for k, v in (data.get("entries") or {}).items())
    templates: dict[str, dict[str, str]] = {}
    for name in ("handoff_ack", "holding"):
        texts = (data.get("templates") or {}).get(name) or {}
        if not all(str(texts.get(lang, "")).strip() for lang in LANGUAGES):
            raise ValueError(f"FAQ template {name!r} needs es and en texts")
        templates[name] = {lang: " ".join(str(texts[lang]).split()) for lang in LANGUAGES}
    return FaqBook(
        version=str(data.get("version", "0")),
        min_score=int(data.get("min_score", 1)),
        entries=entries,
        templates=templates,
    )


def load_faq(path: Path | None = None) -> FaqBook:
    """Read the FAQ file (default: the packaged ``faq.yaml``); ValueError if malformed."""
    return parse_faq(read_yaml_mapping("faq.yaml", path, "FAQ"))
