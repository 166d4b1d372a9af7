"""The router's rules (``cues.yaml``), compiled: what a sentence asks for. Pure.

Every rule is a union of regular expressions over one folded sentence (see
``document.Sentence.text``); a hit keeps the words it matched, so each decision can say
which phrase made it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Cues", "Hit", "Rule", "default_cues", "load_cues", "parse_cues"]

HANDOFF_REASONS = (
    "human_requested",
    "legal",
    "chargeback",
    "refund_dispute",
    "damaged_goods",
    "wrong_item",
    "needs_order_or_account",
    "angry",
)
_SARCASM = ("sarcasm_praise", "sarcasm_time", "sarcasm_wait")
_WORD_RE = re.compile(r"[a-zñ]{3,}")


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    start: int  # character offsets in the sentence text
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    weight: float = 1.0

    def hits(self, text: str) -> list[Hit]:
        return [Hit(self.name, m.start(), m.end(), m.group(0)) for m in self.pattern.finditer(text)]

    def first(self, text: str) -> Hit | None:
        m = self.pattern.search(text)
        return Hit(self.name, m.start(), m.end(), m.group(0)) if m else None


def _compile(name: str, patterns: list[str], weight: float = 1.0) -> Rule:
    if not patterns:
        return Rule(name, re.compile(r"(?!x)x"), weight)
    union = "|".join(f"(?:{p})" for p in patterns)
    try:
        pattern = re.compile(rf"(?<![a-z0-9ñ'§#])(?:{union})(?![a-z0-9ñ'])")
    except re.error as exc:
        raise ValueError(f"cue rule {name!r}: {exc}") from exc
    return Rule(name, pattern, weight)


def _patterns(raw: Any, where: str) -> list[tuple[str, float]]:
    """A rule's entries: plain strings, or ``{pattern: ..., weight: ...}``."""
    if not isinstance(raw, list):
        raise ValueError(f"cue rule {where!r} must be a list of patterns")
    out: list[tuple[str, float]] = []
    for item in raw:
        if isinstance(item, str):
            out.append((item, 1.0))
        elif isinstance(item, dict) and "pattern" in item:
            out.append((str(item["pattern"]), float(item.get("weight", 1.0))))
        else:
            raise ValueError(f"cue rule {where!r}: bad entry {item!r}")
    return out


def _rules(name: str, raw: Any) -> tuple[Rule, ...]:
    """One rule per weight, so strong and weak phrases of a topic score apart."""
    by_weight: dict[float, list[str]] = {}
    for pattern, weight in _patterns(raw, name):
        by_weight.setdefault(weight, []).append(pattern)
    return tuple(_compile(name, ps, w) for w, ps in sorted(by_weight.items(), reverse=True))


@dataclass(frozen=True, slots=True)
class Cues:
    version: str
    handoff: tuple[Rule, ...]
    sarcasm: tuple[Rule, Rule, Rule]
    not_handoff: Rule
    refund_policy: Rule
    not_topic: Rule
    topics: dict[str, tuple[Rule, ...]]
    product: dict[str, tuple[Rule, ...]]
    question: Rule
    words: frozenset[str]  # every literal word of the rules (never "typo-corrected")

    def with_topic_words(self, extra: dict[str, list[str]]) -> Cues:
        """Add a shop's FAQ keywords/phrases to their topics (new topics allowed)."""
        topics = dict(self.topics)
        for topic, words in extra.items():
            if words:
                escaped = [re.escape(w) for w in words]
                topics[topic] = (*topics.get(topic, ()), _compile(topic, escaped, 1.0))
        return Cues(
            self.version,
            self.handoff,
            self.sarcasm,
            self.not_handoff,
            self.refund_policy,
            self.not_topic,
            topics,
            self.product,
            self.question,
            self.words,
        )


def parse_cues(data: dict[str, Any]) -> Cues:
    handoff = data.get("handoff") or {}
    missing = [r for r in (*HANDOFF_REASONS, *_SARCASM) if r not in handoff]
    if missing:
        raise ValueError(f"cues: handoff rules missing: {missing}")
    words: set[str] = set()

    def rule(name: str, raw: Any) -> Rule:
        patterns = [p for p, _w in _patterns(raw, name)]
        words.update(w for p in patterns for w in _WORD_RE.findall(p))
        return _compile(name, patterns)

    topics: dict[str, tuple[Rule, ...]] = {}
    for topic, raw in (data.get("topics") or {}).items():
        topics[str(topic)] = _rules(str(topic), raw)
        words.update(w for p, _w in _patterns(raw, str(topic)) for w in _WORD_RE.findall(p))
    product: dict[str, tuple[Rule, ...]] = {}
    for kind, raw in (data.get("product") or {}).items():
        product[str(kind)] = _rules(str(kind), raw)
        words.update(w for p, _w in _patterns(raw, str(kind)) for w in _WORD_RE.findall(p))
    for needed in ("price", "stock", "detail"):
        if needed not in product:
            raise ValueError(f"cues: product rule {needed!r} missing")
    sarcasm = tuple(rule(name, handoff[name]) for name in _SARCASM)
    return Cues(
        version=str(data.get("version", "0")),
        handoff=tuple(rule(r, handoff[r]) for r in HANDOFF_REASONS),
        sarcasm=(sarcasm[0], sarcasm[1], sarcasm[2]),
        not_handoff=rule("not_handoff", data.get("not_handoff") or []),
        refund_policy=rule("refund_policy", data.get("refund_policy") or []),
        not_topic=rule("not_topic", data.get("not_topic") or []),
        topics=topics,
        product=product,
        question=rule("question", data.get("question") or []),
        words=frozenset(words),
    )


def load_cues(path: Path | None = None) -> Cues:
    """Read the rules file (default: the packaged ``cues.yaml``); ValueError if malformed."""
    if path is None:
        raw = resources.files("mailroom_responder.decision").joinpath("cues.yaml")
        text = raw.read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("cues file must be a YAML mapping")
    return parse_cues(data)


@lru_cache(maxsize=1)
def default_cues() -> Cues:
    """The packaged rules, compiled once on first use (never at import time)."""
    return load_cues()
