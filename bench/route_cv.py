"""Leave-one-writer-out figures of the router on the dev split.

    .venv/bin/python bench/route_cv.py [CORPUS.jsonl ...] [--misses N]

Each dev file (default: every ``bench/data/routing/dev_*.jsonl``) is one writer. For each,
the model is trained on the other files only and the held-out file is decided by it, so
the pooled figures say how the router does on writers it has never seen, without opening
the test split. Tune against these; read the test split (bench/route_eval.py) only to
report. Prints the same report as route_eval.py, plus route accuracy per held-out writer.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from route_eval import DEMO_CATALOGUE, ROOT, load, report, score

from mailroom_common.catalogue_import import read_catalogue
from mailroom_responder.decision.faq import load_faq
from mailroom_responder.decision.offline import Shop, catalogue_from_rows, explain_line
from mailroom_responder.decision.train import examples, train_models

DEV = sorted((ROOT / "bench/data/routing").glob("dev_*.jsonl"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="*", type=Path, default=DEV)
    parser.add_argument("--misses", type=int, default=300, help="misses to list")
    args = parser.parse_args()
    if any(p.name.startswith("test") for p in args.corpus) or len(args.corpus) < 2:
        print("route_cv: give two or more dev files (never a test split)", file=sys.stderr)
        return 2
    faq = load_faq(None)
    catalogue = catalogue_from_rows(read_catalogue(DEMO_CATALOGUE))
    writers = {p: load(p) for p in args.corpus}
    data = {p: examples(mails, faq, catalogue) for p, mails in writers.items()}
    pooled: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    for held, mails in writers.items():
        model = train_models([x for p, d in data.items() if p != held for x in d], faq)
        shop = Shop(faq=dataclasses.replace(faq, route_model=model), catalogue=catalogue)
        got = [explain_line(m, shop) for m in mails]
        right = sum(g["route"] == m["route"] for m, g in zip(mails, got, strict=True))
        print(f"{held.name}: route {100 * right / len(mails):5.1f}%  n={len(mails)}", flush=True)
        pooled += mails
        results += got
    figures = score("leave-one-writer-out", pooled, results, time.perf_counter() - started)
    print(report(figures, args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
