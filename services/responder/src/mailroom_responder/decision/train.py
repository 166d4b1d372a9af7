"""``python -m mailroom_responder.decision.train``: train the router's model from a corpus.

    python -m mailroom_responder.decision.train --catalogue FILE --faq FILE \
        --out route_model.json CORPUS.jsonl [CORPUS.jsonl ...]

The corpus is the labelled format of bench/data/routing/LABELS.md (``route`` is what is
learned), so a shop can add its own labelled mail. Each mail is read exactly as the
responder reads it (quote and signature split off, products masked, the rules' signals
added), so the model learns the shop's catalogue and FAQ too. Training is deterministic:
the same files give the same model. The packaged model was made with:

    python -m mailroom_responder.decision.train \
        --catalogue deploy/local/demo/catalogue.csv \
        --faq services/responder/src/mailroom_responder/decision/faq.yaml \
        --out services/responder/src/mailroom_responder/decision/route_model.json \
        bench/data/routing/dev_*.jsonl

Never train on ``test.jsonl``: it is what the figures are measured on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mailroom_common.catalogue_import import CatalogueError, read_catalogue
from mailroom_common.quotes import customer_parts
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.document import read_document
from mailroom_responder.decision.faq import FaqBook, load_faq
from mailroom_responder.decision.model import ROUTES, RouteModel, train
from mailroom_responder.decision.offline import catalogue_from_rows
from mailroom_responder.decision.routing import model_features, read
from mailroom_responder.decision.text import strip_invisible

__all__ = ["examples", "main", "train_models"]


def examples(
    mails: Iterable[dict[str, Any]], faq: FaqBook, catalogue: Catalogue
) -> list[tuple[list[str], str, str]]:
    """(features, route, intent) for each labelled mail."""
    out: list[tuple[list[str], str, str]] = []
    for mail in mails:
        if mail.get("route") not in ROUTES:
            raise ValueError(f"{mail.get('id')}: route must be one of {ROUTES}")
        body = strip_invisible(customer_parts(str(mail.get("body", ""))).text)
        doc = read_document(strip_invisible(str(mail.get("subject", ""))), body)
        feats = model_features(read(doc, faq, catalogue), faq)
        out.append((feats, str(mail["route"]), str(mail.get("intent", ""))))
    return out


def train_models(data: list[tuple[list[str], str, str]], faq: FaqBook) -> RouteModel:
    """The route model on every mail; the topic model on the FAQ mails whose intent is
    an entry of this FAQ file."""
    route = train([(f, r) for f, r, _i in data])
    keys = [e.key for e in faq.entries]
    faq_mails = [(f, i) for f, r, i in data if r == "faq" and i in keys]
    topic = train(faq_mails, labels=keys) if faq_mails else None
    return RouteModel("1", route, topic)


def _mails(paths: Sequence[Path]) -> list[dict[str, Any]]:
    mails: list[dict[str, Any]] = []
    for path in paths:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    mails.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
    return mails


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mailroom_responder.decision.train",
        description="Train the router's model from labelled mail (JSON lines).",
    )
    parser.add_argument("corpus", nargs="+", type=Path)
    parser.add_argument("--catalogue", required=True, type=Path)
    parser.add_argument("--faq", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    if any(p.name.startswith("test") for p in args.corpus):
        print("train: refusing a test split (measure on it, never train on it)", file=sys.stderr)
        return 2
    try:
        faq = load_faq(args.faq)
        catalogue = catalogue_from_rows(read_catalogue(args.catalogue))
        mails = _mails(args.corpus)
        data = examples(mails, faq, catalogue)
    except (OSError, CatalogueError, ValueError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    model = train_models(data, faq)
    args.out.write_text(model.to_json() + "\n", "utf-8")
    counts = Counter(route for _f, route, _i in data)
    print(
        f"trained on {len(data)} mails ({', '.join(f'{r} {counts[r]}' for r in ROUTES)}); "
        f"{len(model.route.weights)} route features → {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
