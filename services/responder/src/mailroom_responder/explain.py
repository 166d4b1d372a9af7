"""``python -m mailroom_responder.explain``: the responder's routing decision, offline.

For a shop owner checking an FAQ file or a catalogue before deploying::

    python -m mailroom_responder.explain --catalogue FILE --faq FILE \
        [--shop-name NAME] [--shop-address ADDR] < mails.jsonl > decisions.jsonl

Input: one JSON object per line with ``id``, ``from``, ``subject``, ``body`` (plain text
as the customer wrote it; a quoted earlier message and a signature are split off as
ingest does) and optional ``in_reply_to``. Output: one JSON object per input line with
``id``, ``route``, ``intent``, ``reason``, ``confidence``, ``language``,
``product_skus``, ``excerpt``, ``reply``, ``llm_needed`` (and ``evidence``, the rules
that matched). A bad line gets ``{"id": …, "error": …}`` and the run goes on.

It uses only ``mailroom_responder.decision`` (no Kafka, database or LLM), with the packaged
router model unless ``RESPONDER_ROUTE_MODEL_PATH`` names a retrained one (as for the
responder). This interface is read by tools outside the repository: keep it stable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from mailroom_common.catalogue_import import CatalogueError, read_catalogue
from mailroom_responder.decision.faq import load_faq
from mailroom_responder.decision.model import load_model
from mailroom_responder.decision.offline import Shop, catalogue_from_rows, explain_line
from mailroom_responder.jsonl import run_lines

__all__ = ["main", "run"]


def run(lines: TextIO, out: TextIO, shop: Shop) -> int:
    """Decide every line of ``lines``; returns the number of error lines."""
    return run_lines(lines, out, lambda obj: explain_line(obj, shop))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mailroom_responder.explain",
        description="Route customer mails (JSON lines on stdin) as the responder would.",
    )
    parser.add_argument("--catalogue", required=True, type=Path, help="CSV or JSON catalogue")
    parser.add_argument("--faq", required=True, type=Path, help="the FAQ YAML file")
    parser.add_argument("--shop-name", default="", help="fills {shop_name} in replies")
    parser.add_argument("--shop-address", default="", help="fills {shop_address} in replies")
    args = parser.parse_args(argv)
    try:
        catalogue = catalogue_from_rows(read_catalogue(args.catalogue))
        faq = load_faq(args.faq)
    except (OSError, CatalogueError, ValueError) as exc:
        print(f"explain: {exc}", file=sys.stderr)
        return 2
    model_path = os.environ.get("RESPONDER_ROUTE_MODEL_PATH")
    if model_path:  # the same model as the responder it checks for
        try:
            faq = replace(faq, route_model=load_model(Path(model_path)))
        except (OSError, ValueError, KeyError) as exc:
            print(f"explain: RESPONDER_ROUTE_MODEL_PATH: {exc}", file=sys.stderr)
            return 2
    shop = Shop(faq=faq, catalogue=catalogue, name=args.shop_name, address=args.shop_address)
    run(sys.stdin, sys.stdout, shop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
