"""Route accuracy of the responder's router on a labelled corpus.

    .venv/bin/python bench/route_eval.py bench/data/routing/test*.jsonl [--json] [--misses N]

The corpus format is bench/data/routing/LABELS.md. Every mail runs through the same code
as ``python -m mailroom_responder.explain`` (quote/signature split, then the router), with
the demo catalogue and the packaged FAQ unless ``--catalogue``/``--faq`` say otherwise.
Prints: route accuracy, per-route precision/recall, the confusion matrix, FAQ-topic and
product figures, accuracy per tag and per language, and every miss with the router's
reason. ``--json`` prints the figures as one JSON object instead (the unit test reads it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from mailroom_common.catalogue_import import read_catalogue
from mailroom_responder.decision.faq import load_faq
from mailroom_responder.decision.offline import Shop, catalogue_from_rows, explain_line

ROOT = Path(__file__).resolve().parent.parent
DEMO_CATALOGUE = ROOT / "deploy/local/demo/catalogue.csv"
ROUTES = ("faq", "catalogue", "llm", "handoff")


def load(corpus: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in corpus.read_text("utf-8").splitlines() if line.strip()]


def evaluate(corpora: list[Path], shop: Shop) -> dict[str, Any]:
    """The figures of the router on one or more corpus files, pooled."""
    mails = [m for corpus in corpora for m in load(corpus)]
    started = time.perf_counter()
    results = [explain_line(m, shop) for m in mails]
    elapsed = time.perf_counter() - started
    return score(" + ".join(str(c) for c in corpora), mails, results, elapsed)


def score(
    corpus: str, mails: list[dict[str, Any]], results: list[dict[str, Any]], elapsed: float
) -> dict[str, Any]:
    """The figures of ``results`` (the router's outputs) against ``mails`` (the labels)."""
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    by_tag: dict[str, list[bool]] = defaultdict(list)
    by_language: dict[str, list[bool]] = defaultdict(list)
    misses: list[dict[str, Any]] = []
    topic_ok: list[bool] = []
    product_ok: list[bool] = []
    language_ok: list[bool] = []
    for mail, got in zip(mails, results, strict=True):
        if "error" in got:
            raise SystemExit(f"{mail.get('id')}: {got['error']}")
        ok = got["route"] == mail["route"]
        confusion[mail["route"]][got["route"]] += 1
        for tag in mail.get("tags", []):
            by_tag[tag].append(ok)
        by_language[mail["language"]].append(ok)
        language_ok.append(got["language"] == mail["language"])
        if mail["route"] == "faq" and got["route"] == "faq":
            topic_ok.append(got["intent"] == mail["intent"])
            ok = ok and got["intent"] == mail["intent"]
        if mail["route"] == "catalogue" and mail.get("products"):
            product_ok.append(set(mail["products"]) <= set(got["product_skus"]))
        if not ok:
            misses.append(
                {
                    "id": mail["id"],
                    "expected": f"{mail['route']}:{mail['intent']}",
                    "got": f"{got['route']}:{got['intent']}",
                    "reason": got["reason"],
                    "tags": mail.get("tags", []),
                }
            )
    total = len(mails)
    correct = sum(confusion[r][r] for r in ROUTES)
    per_route = {}
    for r in ROUTES:
        predicted = sum(confusion[e][r] for e in ROUTES)
        actual = sum(confusion[r].values())
        per_route[r] = {
            "precision": confusion[r][r] / predicted if predicted else None,
            "recall": confusion[r][r] / actual if actual else None,
            "n": actual,
        }

    def rate(values: list[bool]) -> float | None:
        return sum(values) / len(values) if values else None

    return {
        "corpus": corpus,
        "mails": total,
        "route_accuracy": correct / total if total else None,
        "routes": per_route,
        "confusion": {e: {g: confusion[e][g] for g in ROUTES} for e in ROUTES},
        "faq_topic_accuracy": rate(topic_ok),
        "faq_route_and_topic_recall": (
            sum(
                1
                for m, g in zip(mails, results, strict=True)
                if m["route"] == "faq" and g["route"] == "faq" and g["intent"] == m["intent"]
            )
            / max(1, per_route["faq"]["n"] or 0)
        ),
        "product_recall": rate(product_ok),
        "language_accuracy": rate(language_ok),
        "by_language": {
            k: {"accuracy": rate(v), "n": len(v)} for k, v in sorted(by_language.items())
        },
        "by_tag": {k: {"accuracy": rate(v), "n": len(v)} for k, v in sorted(by_tag.items())},
        "misses": misses,
        "us_per_mail": elapsed / total * 1e6 if total else None,
    }


def _pct(value: float | None) -> str:
    return "  –  " if value is None else f"{100 * value:5.1f}%"


def report(figures: dict[str, Any], misses: int) -> str:
    out = [
        f"corpus {figures['corpus']}: {figures['mails']} mails, "
        f"{figures['us_per_mail']:.0f} µs per mail",
        f"route accuracy        {_pct(figures['route_accuracy'])}",
        f"FAQ topic accuracy    {_pct(figures['faq_topic_accuracy'])} (of FAQ mails routed FAQ)",
        f"FAQ route+topic recall {_pct(figures['faq_route_and_topic_recall'])}",
        f"product recall        {_pct(figures['product_recall'])} (catalogue mails with SKUs)",
        f"language accuracy     {_pct(figures['language_accuracy'])}",
        "",
        "route        precision  recall     n",
    ]
    for route, f in figures["routes"].items():
        out.append(f"{route:<12} {_pct(f['precision'])}   {_pct(f['recall'])}  {f['n']:4d}")
    out += [
        "",
        "confusion (rows: expected, columns: got)",
        " " * 12 + "".join(f"{r:>10}" for r in ROUTES),
    ]
    for e, row in figures["confusion"].items():
        out.append(f"{e:<12}" + "".join(f"{row[g]:>10}" for g in ROUTES))
    out += ["", "by language"]
    for lang, f in figures["by_language"].items():
        out.append(f"  {lang:<10} {_pct(f['accuracy'])}  n={f['n']}")
    out += ["", "by tag"]
    for tag, f in figures["by_tag"].items():
        out.append(f"  {tag:<22} {_pct(f['accuracy'])}  n={f['n']}")
    shown = figures["misses"][:misses]
    out += ["", f"misses ({len(figures['misses'])}, showing {len(shown)})"]
    for m in shown:
        out.append(f"  {m['id']}: expected {m['expected']}, got {m['got']} — {m['reason']}")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path, nargs="+")
    parser.add_argument("--catalogue", type=Path, default=DEMO_CATALOGUE)
    parser.add_argument("--faq", type=Path, default=None, help="default: the packaged FAQ")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--misses", type=int, default=1000, help="misses to list")
    args = parser.parse_args()
    shop = Shop(
        faq=load_faq(args.faq), catalogue=catalogue_from_rows(read_catalogue(args.catalogue))
    )
    figures = evaluate(args.corpus, shop)
    print(json.dumps(figures, ensure_ascii=False) if args.json else report(figures, args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
