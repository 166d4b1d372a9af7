"""A small learned layer over the rules: multinomial logistic regression on words and
rule signals, trained from the labelled corpus. Pure; inference is a few dictionary
lookups per word (tens of microseconds).

The rules find the evidence (products, topics, hand-off phrases); the model weighs it
together with the mail's wording, which is where hand-written rules miss phrasings they
have not seen. ``train`` is deterministic (seeded order), so the shipped artefact
(``route_model.json``) is reproducible with ``python -m mailroom_responder.decision.train``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from pathlib import Path

from mailroom_responder.decision.document import Document
from mailroom_responder.decision.lexicon import STOPWORDS, stem

__all__ = ["ROUTES", "RouteModel", "default_model", "features", "load_model", "train"]

ROUTES = ("faq", "catalogue", "llm", "handoff")
_SKIP = frozenset({",", "§"})


def features(doc: Document, signals: Iterable[str]) -> list[str]:
    """Word stems and stem pairs of the (masked) mail, plus the rules' signals."""
    out: list[str] = [f"sig:{s}" for s in signals]
    for sentence in doc.sentences:
        if sentence.reply_subject:
            continue
        stems = [
            "§" if i in sentence.masked else stem(w)
            for i, w in enumerate(sentence.words)
            if w not in _SKIP or i in sentence.masked
        ]
        prefix = "s:" if sentence.subject else ""
        out += [prefix + s for s in stems if s not in STOPWORDS]
        out += [f"{prefix}{a}_{b}" for a, b in pairwise(stems)]
        if sentence.question:
            out.append("has:question")
    return out


@dataclass(frozen=True)
class RouteModel:
    version: str
    weights: dict[str, tuple[float, ...]]
    bias: tuple[float, ...]

    def probabilities(self, feats: Sequence[str]) -> dict[str, float]:
        scores = list(self.bias)
        for f in set(feats):
            w = self.weights.get(f)
            if w is not None:
                for i, v in enumerate(w):
                    scores[i] += v
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {r: e / total for r, e in zip(ROUTES, exps, strict=True)}

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "routes": list(ROUTES),
                "bias": [round(b, 4) for b in self.bias],
                "weights": {f: [round(v, 4) for v in w] for f, w in sorted(self.weights.items())},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )


def train(
    examples: Sequence[tuple[list[str], str]],
    *,
    epochs: int = 40,
    rate: float = 0.1,
    l2: float = 1e-5,
    seed: int = 7,
    min_weight: float = 0.01,
    version: str = "1",
) -> RouteModel:
    """Multinomial logistic regression by Adagrad over (features, route) pairs."""
    n = len(ROUTES)
    w: dict[str, list[float]] = {}
    g: dict[str, list[float]] = {}
    bias = [0.0] * n
    gb = [1e-8] * n
    order = list(range(len(examples)))
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(order)
        for idx in order:
            feats, label = examples[idx]
            uniq = set(feats)
            scores = list(bias)
            for f in uniq:
                wf = w.get(f)
                if wf is not None:
                    for i in range(n):
                        scores[i] += wf[i]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            y = ROUTES.index(label)
            grad = [e / total - (1.0 if i == y else 0.0) for i, e in enumerate(exps)]
            for i in range(n):
                gb[i] += grad[i] ** 2
                bias[i] -= rate * grad[i] / math.sqrt(gb[i])
            for f in uniq:
                wf = w.setdefault(f, [0.0] * n)
                gf = g.setdefault(f, [1e-8] * n)
                for i in range(n):
                    step = grad[i] + l2 * wf[i]
                    gf[i] += step * step
                    wf[i] -= rate * step / math.sqrt(gf[i])
    kept = {f: tuple(v) for f, v in w.items() if max(abs(x) for x in v) >= min_weight}
    return RouteModel(version, kept, tuple(bias))


def load_model(path: Path | None = None) -> RouteModel:
    """Read a trained model (default: the packaged ``route_model.json``)."""
    if path is None:
        raw = resources.files("mailroom_responder.decision").joinpath("route_model.json")
        text = raw.read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    data = json.loads(text)
    if list(data.get("routes", [])) != list(ROUTES):
        raise ValueError(f"route model: routes must be {list(ROUTES)}")
    return RouteModel(
        str(data.get("version", "0")),
        {f: tuple(float(x) for x in v) for f, v in data["weights"].items()},
        tuple(float(b) for b in data["bias"]),
    )


@lru_cache(maxsize=1)
def default_model() -> RouteModel:
    """The packaged model, read once on first use (never at import time)."""
    return load_model()
