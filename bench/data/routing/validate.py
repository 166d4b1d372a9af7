"""Check routing corpus files against LABELS.md and print their counts.

    python3 bench/data/routing/validate.py bench/data/routing/test_b.jsonl [more.jsonl ...]

Checks, per file: every line is a JSON object with the fields of LABELS.md; ids are unique
(and share one prefix); `route`, `intent`, `language` and `tags` take the values LABELS.md
allows; `intent` belongs to the `route`; every SKU in `products` is in the demo catalogue;
a few tag/label pairs agree (`category_only` has no products, `not_carried` is the
catalogue intent of that name, `product_plus_faq` is a catalogue mail, `false_handoff` is
not a handoff, `implicit_handoff` is one). Bodies repeated across the given files are
reported. Prints counts per route, intent, language and tag. Exit status 1 on any error.
"""

from __future__ import annotations

import collections
import csv
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "deploy" / "local" / "demo" / "catalogue.csv"

INTENTS = {
    "faq": {"shipping", "payments", "returns", "sizes", "stock"},
    "catalogue": {"price", "stock", "product", "not_carried"},
    "handoff": {
        "human_requested",
        "angry",
        "refund_dispute",
        "chargeback",
        "legal",
        "damaged_goods",
        "wrong_item",
        "needs_order_or_account",
    },
    "llm": {"general"},
}
TRAP_TAGS = {
    "name_has_faq_word",
    "size_word_in_name",
    "policy_with_garment",
    "two_faq_topics",
    "faq_no_keyword",
    "false_handoff",
    "implicit_handoff",
    "sarcasm",
    "not_carried",
    "en_spanish_name",
    "product_plus_faq",
    "multi_product",
    "category_only",
}
STYLE_TAGS = {
    "typo",
    "no_accents",
    "all_caps",
    "one_line",
    "long",
    "forwarded",
    "quoted",
    "signature",
    "mixed_language",
    "rioplatense",
    "spain",
    "latam",
    "english",
}
FIELDS = {"id", "from", "subject", "body", "route", "intent", "products", "language", "tags"}
OPTIONAL = {"in_reply_to"}


def catalogue_skus() -> set[str]:
    with CATALOGUE.open(encoding="utf-8") as f:
        return {row["sku"] for row in csv.DictReader(f)}


def check(  # noqa: C901, PLR0912, PLR0915
    path: Path, skus: set[str], bodies: dict[str, str]
) -> tuple[list[str], list[dict]]:
    errors: list[str] = []
    mails: list[dict] = []
    ids: set[str] = set()
    prefixes: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{n}"
        if not line.strip():
            errors.append(f"{where}: empty line")
            continue
        try:
            mail = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: bad JSON: {e}")
            continue
        if not isinstance(mail, dict):
            errors.append(f"{where}: not an object")
            continue
        missing = FIELDS - mail.keys()
        extra = mail.keys() - FIELDS - OPTIONAL
        if missing:
            errors.append(f"{where}: missing {sorted(missing)}")
            continue
        if extra:
            errors.append(f"{where}: unknown fields {sorted(extra)}")
        mid = mail["id"]
        where = f"{path.name}:{n} ({mid})"
        if mid in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(mid)
        m = re.fullmatch(r"([a-z]+)(\d+)", str(mid))
        if not m:
            errors.append(f"{where}: id is not <prefix><digits>")
        else:
            prefixes.add(m.group(1))
        for field in ("from", "subject", "body"):
            if not isinstance(mail[field], str):
                errors.append(f"{where}: {field} is not a string")
        if not str(mail["body"]).strip():
            errors.append(f"{where}: empty body")
        route, intent = mail["route"], mail["intent"]
        if route not in INTENTS:
            errors.append(f"{where}: bad route {route!r}")
        elif intent not in INTENTS[route]:
            errors.append(f"{where}: intent {intent!r} is not one of route {route!r}")
        if mail["language"] not in ("es", "en"):
            errors.append(f"{where}: bad language {mail['language']!r}")
        products = mail["products"]
        if not isinstance(products, list):
            errors.append(f"{where}: products is not a list")
            products = []
        for sku in products:
            if sku not in skus:
                errors.append(f"{where}: unknown SKU {sku!r}")
        if len(set(products)) != len(products):
            errors.append(f"{where}: repeated SKU")
        tags = mail["tags"]
        if not isinstance(tags, list):
            errors.append(f"{where}: tags is not a list")
            tags = []
        for tag in tags:
            if tag not in TRAP_TAGS | STYLE_TAGS:
                errors.append(f"{where}: unknown tag {tag!r}")
        if len(set(tags)) != len(tags):
            errors.append(f"{where}: repeated tag")
        if "category_only" in tags and products:
            errors.append(f"{where}: category_only with products")
        if ("not_carried" in tags) != (intent == "not_carried"):
            errors.append(f"{where}: tag not_carried and intent not_carried disagree")
        if "product_plus_faq" in tags and route != "catalogue":
            errors.append(f"{where}: product_plus_faq but route {route!r}")
        if "false_handoff" in tags and route == "handoff":
            errors.append(f"{where}: false_handoff on a handoff")
        if "implicit_handoff" in tags and route != "handoff":
            errors.append(f"{where}: implicit_handoff on a non-handoff")
        if "multi_product" in tags and len(products) < 2:
            errors.append(f"{where}: multi_product with fewer than 2 products")
        if (
            route == "catalogue"
            and intent in ("price", "stock")
            and not products
            and "category_only" not in tags
        ):
            errors.append(f"{where}: catalogue {intent} with no product and no category_only")
        key = re.sub(r"\s+", " ", str(mail["body"]).strip().lower())
        if key in bodies:
            errors.append(f"{where}: same body as {bodies[key]}")
        else:
            bodies[key] = f"{path.name} {mid}"
        mails.append(mail)
    if len(prefixes) > 1:
        errors.append(f"{path.name}: several id prefixes {sorted(prefixes)}")
    return errors, mails


def report(path: Path, mails: list[dict]) -> None:
    total = len(mails)

    def show(title: str, counter: collections.Counter) -> None:
        print(f"  {title}:")
        for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"    {key:<28} {count:4d}  {100 * count / max(total, 1):5.1f} %")

    print(f"{path.name}: {total} mails")
    show("route", collections.Counter(m["route"] for m in mails))
    show("route/intent", collections.Counter(f"{m['route']}/{m['intent']}" for m in mails))
    show("language", collections.Counter(m["language"] for m in mails))
    show("trap tags", collections.Counter(t for m in mails for t in m["tags"] if t in TRAP_TAGS))
    show("style tags", collections.Counter(t for m in mails for t in m["tags"] if t in STYLE_TAGS))


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    skus = catalogue_skus()
    bodies: dict[str, str] = {}
    failed = False
    for name in argv:
        path = Path(name)
        errors, mails = check(path, skus, bodies)
        for e in errors:
            print("ERROR", e)
        failed |= bool(errors)
        report(path, mails)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
