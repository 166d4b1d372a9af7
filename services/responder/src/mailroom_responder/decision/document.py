"""One email as the router reads it: folded sentences of words. Pure.

The subject is a sentence of its own (without "Re:"/"Fwd:"); the body is split at
sentence ends and line breaks. Words may be *masked* (replaced by ``§``) once they are
known to be part of a product name, so they never count for a topic or a hand-off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailroom_responder.decision.text import fold

__all__ = ["Document", "Sentence", "read_document"]

_WORD_RE = re.compile(r"#?\d+(?:[.,]\d+)*|[a-z0-9ñ]+(?:'[a-z]+)?|,")
_SPLIT_RE = re.compile(r"(?<=[.!?;])(?!\d)|\n+|(?=¿)|(?=¡)")
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|rv|reenviado|tr|aw|wg)\s*(\[\d+\])?\s*:\s*)+", re.I)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
MASK = "§"


@dataclass(frozen=True, slots=True)
class Sentence:
    words: tuple[str, ...]
    question: bool
    subject: bool
    masked: frozenset[int] = frozenset()
    reply_subject: bool = False  # "Re: …": the subject of an earlier message

    @property
    def text(self) -> str:
        """The words joined by spaces, masked words as ``§``: what cue rules match."""
        return " ".join(MASK if i in self.masked else w for i, w in enumerate(self.words))

    def mask(self, positions: set[int]) -> Sentence:
        return Sentence(
            self.words, self.question, self.subject, self.masked | positions, self.reply_subject
        )

    def word_at(self, char: int) -> int:
        """Index of the word that contains character ``char`` of ``text``."""
        return self.text.count(" ", 0, char)


@dataclass(frozen=True, slots=True)
class Document:
    sentences: tuple[Sentence, ...]
    raw: str  # subject + body, as written (for language and shouting)

    @property
    def words(self) -> list[list[str]]:
        return [list(s.words) for s in self.sentences]

    def joined(self) -> tuple[str, tuple[int, ...]]:
        """All sentence texts joined by newlines (no rule pattern crosses one) and each
        sentence's start offset."""
        texts = [s.text for s in self.sentences]
        offsets, pos = [], 0
        for t in texts:
            offsets.append(pos)
            pos += len(t) + 1
        return "\n".join(texts), tuple(offsets)

    def masked(self, positions: dict[int, set[int]]) -> Document:
        return Document(
            tuple(s.mask(positions.get(i, set())) for i, s in enumerate(self.sentences)),
            self.raw,
        )


def clean_subject(subject: str) -> str:
    return _SUBJECT_PREFIX.sub("", subject).strip()


def read_document(subject: str, body: str) -> Document:
    sentences: list[Sentence] = []
    reply = bool(re.match(r"\s*(re|aw|rv)\s*:", subject, re.I))
    subject = clean_subject(subject)
    for part, is_subject in ((subject, True), (body, False)):
        folded = fold(part.translate(_APOSTROPHES))
        chunks: list[str] = []
        for chunk in _SPLIT_RE.split(folded):
            # "Si no le gusta, ¿puede cambiarlo?" is one sentence.
            if chunks and chunks[-1].rstrip().endswith(",") and chunk.startswith("¿"):
                chunks[-1] += chunk
            else:
                chunks.append(chunk)
        for chunk in chunks:
            words = tuple(_WORD_RE.findall(chunk))
            if words:
                question = "?" in chunk or "¿" in chunk
                sentences.append(
                    Sentence(words, question, is_subject, reply_subject=is_subject and reply)
                )
    return Document(tuple(sentences), f"{subject}\n{body}")
