"""What the catalogue templates answer, replayed on the labelled routing corpus.

    .venv/bin/python bench/catalogue_answers.py bench/data/routing/test*.jsonl [--json]

Each mail runs through the same code as ``python -m mailroom_responder.explain``.
Prints:
* the share of customer mails that need an LLM call (catalogue questions the templates
  cannot answer, and the LLM route);
* templated replies with a wrong figure: every price and stock figure a template states
  is checked against the catalogue file for the product and variant it is stated of;
  must be 0. Apart: replies with a paragraph about a product the mail is not labelled
  with (true figures, but not what was asked);
* catalogue recall@excerpt: of the catalogue mails that go to the LLM with labelled
  products, the share whose excerpt has a line for every labelled product, with its
  price and per-size stock;
* the longest excerpt (must be ≤ 2000 characters).
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from route_eval import DEMO_CATALOGUE, load

from mailroom_common.catalogue_import import read_catalogue
from mailroom_common.quotes import customer_parts
from mailroom_responder.decision.answers import catalogue_answer
from mailroom_responder.decision.faq import load_faq
from mailroom_responder.decision.offline import EXCERPT_MAX_CHARS, catalogue_from_rows
from mailroom_responder.decision.routing import decide
from mailroom_responder.decision.text import strip_invisible


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="+", type=Path)
    parser.add_argument("--catalogue", type=Path, default=DEMO_CATALOGUE)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = read_catalogue(args.catalogue)
    truth = {(r.sku, r.size, r.colour): (Decimal(r.price), r.stock) for r in rows}
    faq, catalogue = load_faq(None), catalogue_from_rows(rows)
    mails = [m for c in args.corpus for m in load(c)]
    llm = templated = wrong = other = excerpt_n = excerpt_ok = longest = 0
    wrong_ids: list[str] = []
    other_ids: list[str] = []
    by_intent: dict[str, list[int]] = {}
    for mail in mails:
        body = strip_invisible(customer_parts(mail["body"]).text)
        decision = decide(strip_invisible(mail.get("subject", "")), body, faq, catalogue)
        answer = catalogue_answer(decision, catalogue, faq, decision.language)
        if mail["route"] == "catalogue":
            counts = by_intent.setdefault(mail["intent"], [0, 0])
            counts[0] += 1
            counts[1] += answer is not None
        if answer is not None:
            templated += 1
            labelled = set(mail.get("products") or [])
            bad = [
                f
                for f in answer.facts
                if (f.sku, f.size, f.colour) not in truth
                or (f.what == "price" and Decimal(f.value) != truth[(f.sku, f.size, f.colour)][0])
                or (f.what == "stock" and int(f.value) != truth[(f.sku, f.size, f.colour)][1])
            ]
            if bad:
                wrong += 1
                wrong_ids.append(mail["id"])
            # A paragraph about a product the mail does not ask about (category lists and
            # alternatives name each product with its own figures: not counted).
            answered = set(answer.skus)
            if labelled and answered - labelled:
                other += 1
                other_ids.append(mail["id"])
            continue
        if decision.route.value not in ("catalogue", "llm"):
            continue
        llm += 1
        if decision.document is None:
            continue
        excerpt = catalogue.excerpt_for(decision.document, decision.found, EXCERPT_MAX_CHARS)
        longest = max(longest, len(excerpt))
        if mail["route"] == "catalogue" and mail.get("products"):
            excerpt_n += 1
            lines = excerpt.splitlines()
            excerpt_ok += all(
                any(f"SKU {sku}:" in line and "$" in line and "stock" in line for line in lines)
                for sku in mail["products"]
            )
    figures: dict[str, Any] = {
        "mails": len(mails),
        "llm_share": llm / len(mails),
        "templated_replies": templated,
        "templated_wrong_figure": wrong,
        "wrong_ids": wrong_ids,
        "templated_other_product": other,
        "other_product_ids": other_ids,
        "excerpt_recall": excerpt_ok / excerpt_n if excerpt_n else None,
        "excerpt_mails": excerpt_n,
        "longest_excerpt": longest,
        "templated_share_by_catalogue_intent": {
            k: round(v[1] / v[0], 3) for k, v in sorted(by_intent.items())
        },
    }
    print(json.dumps(figures) if args.json else _report(figures, args.corpus))
    return 0


def _report(figures: dict[str, Any], corpus: list[Path]) -> str:
    out = [f"corpus: {figures['mails']} mails ({', '.join(str(c) for c in corpus)})"]
    templated, wrong = figures["templated_replies"], figures["templated_wrong_figure"]
    out.append(f"need an LLM call          {100 * figures['llm_share']:5.1f}%  (aim ≤ 25 %)")
    out.append(f"templated replies         {templated}, with a wrong figure: {wrong}")
    out.append(
        f"  about a product not asked about: {figures['templated_other_product']} "
        f"{figures['other_product_ids']}"
    )
    if figures["excerpt_recall"] is not None:
        out.append(
            f"catalogue recall@excerpt  {100 * figures['excerpt_recall']:5.1f}%  of "
            f"{figures['excerpt_mails']} LLM-bound catalogue mails with labelled products"
        )
    out.append(f"longest excerpt           {figures['longest_excerpt']} chars (≤ 2000)")
    for intent, share in figures["templated_share_by_catalogue_intent"].items():
        out.append(f"  catalogue/{intent:<12} templated {100 * share:5.1f}%")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
