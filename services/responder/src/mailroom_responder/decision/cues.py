"""The router's rules (``cues.yaml``), compiled: what a sentence asks for. Pure.

Every rule is a union of regular expressions over one folded sentence (see
``document.Sentence.text``); a hit keeps the words it matched, so each decision can say
which phrase made it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mailroom_responder.decision.datafiles import read_yaml_mapping

__all__ = ["Cues", "Hit", "Rule", "Scan", "default_cues", "load_cues", "parse_cues"]

# In priority order: the first that matches is the reason reported.
HANDOFF_REASONS = (
    "legal",
    "chargeback",
    "refund_dispute",
    "damaged_goods",
    "wrong_item",
    "needs_order_or_account",
    "human_requested",
    "angry",
)
_SARCASM = ("sarcasm_praise", "sarcasm_time", "sarcasm_wait")
_WORD_RE = re.compile(r"[a-zñ]{3,}")
_WORD_START = re.compile(r"[^\s]+")


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    start: int  # character offsets in the sentence text
    end: int
    text: str


@dataclass(slots=True)
class Scan:
    """A document prepared for rules: joined text, sentence offsets, and (after
    ``Cues.prime``) every rule's hits, found in one pass."""

    text: str
    offsets: tuple[int, ...]
    hits: dict[int, list[Hit]] = field(default_factory=dict)  # id(rule) → hits


@dataclass(frozen=True, slots=True)
class Rule:
    """A union of patterns. Each pattern whose matches must begin with known words (its
    *anchors*) is kept apart, so ``Cues.prime`` tries it only where such a word starts;
    the others are tried together over the whole text."""

    name: str
    anchored: tuple[tuple[frozenset[str], re.Pattern[str]], ...]
    free: re.Pattern[str] | None
    weight: float = 1.0

    def hits(self, text: str) -> list[Hit]:
        """Every hit in ``text`` (all patterns tried everywhere)."""
        patterns = [self.free] if self.free is not None else []
        patterns += [p for _a, p in self.anchored]
        found = [
            Hit(self.name, m.start(), m.end(), m.group(0))
            for p in patterns
            for m in p.finditer(text)
        ]
        found.sort(key=lambda h: (h.start, -h.end))
        return found

    def by_sentence(self, scan: Scan) -> dict[int, list[Hit]]:
        """This rule's hits in a whole document, per sentence, offsets within it."""
        out: dict[int, list[Hit]] = {}
        found = scan.hits.get(id(self))
        if found is None:
            found = self.hits(scan.text)
        for h in found:
            si = bisect_right(scan.offsets, h.start) - 1
            base = scan.offsets[si]
            out.setdefault(si, []).append(Hit(h.rule, h.start - base, h.end - base, h.text))
        return out


_LEAD_RE = re.compile(r"[a-z0-9ñ']+")


def _first_group(pattern: str) -> tuple[str, str] | None:
    """``(inner, rest)`` when the pattern starts with a group; None otherwise."""
    if not pattern.startswith("("):
        return None
    depth, i = 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return pattern[1:i], pattern[i + 1 :]
        i += 1
    return None


def _split_top(inner: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
        i += 1
    parts.append(inner[start:])
    return parts


def anchors_of(pattern: str) -> frozenset[str] | None:
    """Literal word starts every match of ``pattern`` begins with, or None if unknown."""
    group = _first_group(pattern)
    if group is None:
        lead = _LEAD_RE.match(pattern)
        return frozenset({lead.group(0)}) if lead else None
    inner, rest = group
    if rest[:1] in ("?", "*") or inner.startswith("?"):
        return None
    out: set[str] = set()
    for alt in _split_top(inner):
        sub = anchors_of(alt)
        if not sub:
            return None
        out |= sub
    return frozenset(out)


def _union(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    union = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(rf"(?<![a-z0-9ñ'§#])(?:{union})(?![a-z0-9ñ'])")


def _compile(name: str, patterns: list[str], weight: float = 1.0) -> Rule:
    anchored: list[tuple[frozenset[str], re.Pattern[str]]] = []
    free: list[str] = []
    try:
        for p in patterns:
            found = anchors_of(p)
            compiled = _union([p]) if found else None
            if found and compiled is not None:
                anchored.append((found, compiled))
            else:
                free.append(p)
        return Rule(name, tuple(anchored), _union(free), weight)
    except re.error as exc:
        raise ValueError(f"cue rule {name!r}: {exc}") from exc


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


class _AnchorIndex:
    """Which anchored patterns to try at a word: those with an anchor the word starts
    with. The answer depends on the word alone, so it is remembered per word (mail
    vocabulary repeats; the memory is bounded)."""

    _MAX_WORDS = 50_000

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.free = [r for r in rules if r.free is not None]
        self._by_anchor: dict[str, list[tuple[int, str, re.Pattern[str]]]] = {}
        for rule in rules:
            for anchors, pattern in rule.anchored:
                for a in anchors:
                    self._by_anchor.setdefault(a, []).append((id(rule), rule.name, pattern))
        self._lengths = tuple(sorted({len(a) for a in self._by_anchor}))
        self._words: dict[str, tuple[tuple[int, str, re.Pattern[str]], ...]] = {}

    def candidates(self, word: str) -> tuple[tuple[int, str, re.Pattern[str]], ...]:
        known = self._words.get(word)
        if known is not None:
            return known
        seen: set[int] = set()
        out: list[tuple[int, str, re.Pattern[str]]] = []
        for length in self._lengths:
            if length > len(word):
                break
            for entry in self._by_anchor.get(word[:length], ()):
                if id(entry[2]) not in seen:  # a pattern with two anchors here: tried once
                    seen.add(id(entry[2]))
                    out.append(entry)
        if len(self._words) >= self._MAX_WORDS:
            self._words.clear()
        result = self._words[word] = tuple(out)
        return result


@dataclass(frozen=True)
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
    _index: list[_AnchorIndex] = field(default_factory=list, compare=False, repr=False)

    def rules(self) -> list[Rule]:
        out = [*self.handoff, *self.sarcasm, self.not_handoff, self.refund_policy]
        out += [self.not_topic, self.question]
        out += [r for rs in self.topics.values() for r in rs]
        out += [r for rs in self.product.values() for r in rs]
        return out

    def _anchor_index(self) -> _AnchorIndex:
        if not self._index:  # built on first use
            self._index.append(_AnchorIndex(self.rules()))
        return self._index[0]

    def prime(self, scan: Scan) -> Scan:
        """Run every rule over the document at once. An anchored pattern is only tried
        where a word starts with one of its anchors, with ``match`` at that word (its
        matches all begin there); the free patterns scan the whole text."""
        index = self._anchor_index()
        text = scan.text
        found: dict[int, list[Hit]] = {id(rule): [] for rule in index.rules}
        for rule in index.free:
            assert rule.free is not None
            found[id(rule)] += [
                Hit(rule.name, m.start(), m.end(), m.group(0)) for m in rule.free.finditer(text)
            ]
        for word in _WORD_START.finditer(text):
            pos = word.start()
            for rule_id, name, pattern in index.candidates(word.group(0)):
                m = pattern.match(text, pos)
                if m is not None:
                    found[rule_id].append(Hit(name, m.start(), m.end(), m.group(0)))
        for rule_id, hits in found.items():
            hits.sort(key=lambda h: (h.start, -h.end))
            scan.hits[rule_id] = hits
        return scan

    def with_topic_words(self, extra: dict[str, list[tuple[str, float]]]) -> Cues:
        """Add a shop's FAQ keywords and phrases (with weights) to their topics."""
        topics = dict(self.topics)
        for topic, words in extra.items():
            by_weight: dict[float, list[str]] = {}
            for word, weight in words:
                by_weight.setdefault(weight, []).append(re.escape(word))
            added = tuple(_compile(topic, ws, w) for w, ws in sorted(by_weight.items()))
            topics[topic] = (*topics.get(topic, ()), *added)
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
        )  # a fresh index: the new topic rules are in it


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
    return parse_cues(read_yaml_mapping("cues.yaml", path, "cues"))


@lru_cache(maxsize=1)
def default_cues() -> Cues:
    """The packaged rules, compiled once on first use (never at import time)."""
    return load_cues()
