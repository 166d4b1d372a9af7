#!/usr/bin/env python3
"""Validate the reply-gate corpus (bench/data/replies/{dev,test}{,_b,_c,_d}.jsonl).

Checks the format only (see LABELS.md): every line parses as a JSON object with exactly
the expected keys, ids are unique and well formed, language/verdict/kind values are valid
and consistent, the per-file counts are as agreed, and no two files share a mail or a reply.

It also prints WARNINGS (never errors) for `send` cases whose reply contains a
price-like figure that is neither a catalogue price, nor written in the customer's mail,
nor the sum of the catalogue prices the reply lists (a total):
a reminder to re-check that case by hand against the catalogue. It does not judge the
labels; it is not a gate.

    python bench/data/replies/validate.py [--catalogue deploy/local/demo/catalogue.csv]
"""

from __future__ import annotations

import argparse
import collections
import csv
import itertools
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

KEYS = ["id", "subject", "body", "reply", "language", "verdict", "kind", "note"]
BAD_KINDS = [
    "wrong_product_price",
    "wrong_stock",
    "invented_size",
    "wrong_language",
    "promise",
    "leaked_instructions",
    "other_recipient",
    "invented_fact",
]
# file: (id prefix, {verdict: count}, minimum cases per bad kind)
FILES = {
    "dev.jsonl": ("rd", {"send": 70, "block": 70}, 8),
    "test.jsonl": ("rt", {"send": 70, "block": 70}, 8),
    "dev_b.jsonl": ("rb", {"send": 60, "block": 60}, 7),
    "test_b.jsonl": ("ru", {"send": 70, "block": 70}, 8),
    "dev_c.jsonl": ("rv", {"send": 70, "block": 70}, 8),
    "test_c.jsonl": ("rc", {"send": 70, "block": 70}, 8),
    "test_d.jsonl": ("rx", {"send": 70, "block": 70}, 8),
    "dev_d.jsonl": ("ry", {"send": 70, "block": 70}, 8),
}

# 12.900 / 12,900 / 12900 / 12.900,00 / 12,900.00 — with a currency sign or code nearby
PRICE_RE = re.compile(
    r"(?:\$|ARS|pesos)\s*(\d{1,3}(?:[.,]\d{3})+|\d{4,6})(?:[.,]\d{2})?"
    r"|(\d{1,3}(?:[.,]\d{3})+|\d{4,6})(?:[.,]\d{2})?\s*(?:pesos|ARS)",
    re.IGNORECASE,
)


def amount(text: str) -> int:
    return int(re.sub(r"[.,]", "", text))


def price_list(text: str) -> list[int]:
    return [amount(m.group(1) or m.group(2)) for m in PRICE_RE.finditer(text)]


def amounts(text: str) -> set[int]:
    found = set(price_list(text))
    # bare thousands written like 20.000 / 20,000 in the mail also count as "quoted"
    for m in re.finditer(r"\b\d{1,3}(?:[.,]\d{3})+\b", text):
        found.add(amount(m.group(0)))
    return found


def catalogue_prices(path: Path) -> set[int]:
    with path.open(encoding="utf-8") as fh:
        return {int(float(row["price"])) for row in csv.DictReader(fh)}


def check_file(  # noqa: C901, PLR0912
    path: Path, prefix: str, prices: set[int]
) -> tuple[list[str], list[str], list[dict]]:
    errors: list[str] = []
    warnings: list[str] = []
    rows: list[dict] = []
    ids: set[str] = set()
    id_re = re.compile(rf"^{prefix}\d{{3}}$")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{n}"
        if not line.strip():
            errors.append(f"{where}: empty line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: bad JSON: {exc}")
            continue
        if not isinstance(row, dict) or list(row) != KEYS:
            errors.append(f"{where}: keys must be exactly {KEYS} in that order, got {list(row)}")
            continue
        rid = row["id"]
        where = f"{path.name}:{n} ({rid})"
        if not isinstance(rid, str) or not id_re.match(rid):
            errors.append(f"{where}: id must look like {prefix}001")
        if rid in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(rid)
        for key in ("subject", "body", "reply", "note"):
            if not isinstance(row[key], str):
                errors.append(f"{where}: {key} must be a string")
        for key in ("body", "reply", "note"):
            if isinstance(row[key], str) and not row[key].strip():
                errors.append(f"{where}: {key} is empty")
        if row["language"] not in ("es", "en"):
            errors.append(f"{where}: language must be es or en")
        if row["verdict"] not in ("send", "block"):
            errors.append(f"{where}: verdict must be send or block")
        if row["kind"] != "good" and row["kind"] not in BAD_KINDS:
            errors.append(f"{where}: unknown kind {row['kind']!r}")
        if (row["verdict"] == "send") != (row["kind"] == "good"):
            errors.append(f"{where}: verdict {row['verdict']} does not match kind {row['kind']}")
        if row["verdict"] == "send" and isinstance(row["reply"], str):
            quoted = amounts(row["body"]) if isinstance(row["body"], str) else set()
            listed = price_list(row["reply"])
            # a total: the sum of the catalogue prices the reply lists
            total = sum(v for v in listed if v in prices)
            for value in sorted(amounts(row["reply"])):
                if value not in prices and value not in quoted and value != total:
                    warnings.append(f"{where}: send reply has {value}, not a catalogue price")
        rows.append(row)
    return errors, warnings, rows


def summarise(
    name: str, rows: list[dict], per_file: dict[str, int], min_per_kind: int
) -> list[str]:
    errors = []
    verdicts = collections.Counter(r["verdict"] for r in rows)
    kinds = collections.Counter(r["kind"] for r in rows)
    langs = collections.Counter(r["language"] for r in rows)
    print(f"{name}: {len(rows)} cases; verdicts {dict(verdicts)}; languages {dict(langs)}")
    for kind in [*BAD_KINDS, "good"]:
        print(f"  {kind:22} {kinds.get(kind, 0)}")
    for verdict, want in per_file.items():
        if verdicts.get(verdict, 0) != want:
            errors.append(f"{name}: {verdicts.get(verdict, 0)} {verdict} cases, want {want}")
    for kind in BAD_KINDS:
        if kinds.get(kind, 0) < min_per_kind:
            errors.append(f"{name}: only {kinds.get(kind, 0)} {kind} cases, want >= {min_per_kind}")
    return errors


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--catalogue", type=Path, default=ROOT / "deploy/local/demo/catalogue.csv")
    ap.add_argument("--quiet", action="store_true", help="do not print warnings")
    args = ap.parse_args()
    prices = catalogue_prices(args.catalogue)
    errors: list[str] = []
    warnings: list[str] = []
    bodies: dict[str, set[str]] = {}
    replies: dict[str, set[str]] = {}
    for name, (prefix, per_file, min_per_kind) in FILES.items():
        path = HERE / name
        if not path.exists():
            print(f"{name}: missing (skipped)")
            continue
        errs, warns, rows = check_file(path, prefix, prices)
        errors += errs
        warnings += warns
        errors += summarise(name, rows, per_file, min_per_kind)
        seen_body: dict[str, str] = {}
        for row in rows:
            if row["body"] in seen_body:
                warnings.append(
                    f"{name}: {row['id']} has the same mail as {seen_body[row['body']]}"
                )
            seen_body.setdefault(row["body"], row["id"])
        bodies[name] = {r["body"] for r in rows}
        replies[name] = {r["reply"] for r in rows}
    for a, b in itertools.combinations(bodies, 2):
        shared = bodies[a] & bodies[b]
        if shared:
            errors.append(f"{a} and {b} share {len(shared)} mail bodies")
        if replies[a] & replies[b]:
            errors.append(f"{a} and {b} share replies")
    if warnings and not args.quiet:
        print("\nwarnings:")
        for w in warnings:
            print("  " + w)
    if errors:
        print("\nERRORS:")
        for e in errors:
            print("  " + e)
        return 1
    print("\nok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
